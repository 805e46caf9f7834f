import assert from "node:assert/strict";
import type { Bar, Tick } from "../../actors/sources/market_record.ts";
import { postgresTableDdl } from "../postgres_table.ts";
import { clickHouseTableDdl } from "../clickhouse_table.ts";
import { avroColumns, columnName, PROVENANCE } from "./column.ts";
import { TABLE_KIND_SPECS, TABLE_KINDS, tableKind } from "./mod.ts";
import { newestSchema } from "./table_kind.ts";

/**
 * Every field of the hand-written TypeScript record types. Typed `Record<keyof T, true>`, so a field added to
 * the type and not here fails the type check; the test below fails when the schema has a field not here.
 */
const TICK_FIELDS: Record<keyof Tick, true> = {
  symbol: true,
  source: true,
  exchange: true,
  ts: true,
  price: true,
  bid: true,
  ask: true,
  volume: true,
};
const BAR_FIELDS: Record<keyof Bar, true> = {
  symbol: true,
  source: true,
  exchange: true,
  interval: true,
  ts: true,
  open: true,
  high: true,
  low: true,
  close: true,
  volume: true,
  trades: true,
};

Deno.test("the TypeScript Tick and Bar types have exactly the fields of the schema the tables store", () => {
  const stored = (kind: "tick" | "bar") =>
    tableKind(kind).columns.flatMap((c) => c.fromSchema ? [c.field] : []);
  assert.deepEqual(
    Object.keys(TICK_FIELDS),
    stored("tick"),
    "Tick (actors/sources/market_record.ts) vs market.tick",
  );
  assert.deepEqual(
    Object.keys(BAR_FIELDS),
    stored("bar"),
    "Bar (actors/sources/market_record.ts) vs market.bar",
  );
});

Deno.test("every kind stores each field of the newest version of its schema, or says why not", () => {
  for (const name of TABLE_KINDS) {
    const kind = tableKind(name);
    const { version, schema } = newestSchema(kind.schema);
    assert.equal(kind.version, version);
    const omitted = Object.keys(kind.omit ?? {});
    const stored = kind.columns.flatMap((c) => c.fromSchema ? [c.field] : []);
    assert.deepEqual([...stored, ...omitted].sort(), schema.fields.map((f) => f.name).sort(), name);
    assert.deepEqual(
      kind.columns.slice(-3).map((c) => c.name),
      PROVENANCE,
      `${name}: provenance columns last`,
    );
    for (const column of kind.key) {
      assert.ok(kind.columns.some((c) => c.name === column), `${name}: key ${column}`);
    }
  }
});

Deno.test("the DDL of each kind has a column per stored schema field, nullable exactly when the field is", () => {
  for (const name of TABLE_KINDS) {
    const kind = tableKind(name);
    const { schema } = newestSchema(kind.schema);
    const pg = postgresTableDdl(kind, "t");
    const ch = clickHouseTableDdl(name, "t");
    for (const field of schema.fields) {
      if (kind.omit?.[field.name]) continue;
      const col = kind.rename?.[field.name] ?? columnName(field.name);
      const nullable = Array.isArray(field.type) && field.type.includes("null");
      const pgLine = pg.split("\n").find((l) => l.trim().startsWith(`"${col}" `));
      assert.ok(pgLine, `${name}: PostgreSQL column ${col}`);
      assert.equal(!pgLine.includes("NOT NULL"), nullable, `${name}.${col} nullability in PostgreSQL`);
      const chLine = ch.split("\n").find((l) => l.trim().startsWith(`\`${col}\` `));
      assert.ok(chLine, `${name}: ClickHouse column ${col}`);
      if (!chLine.includes("Array(")) {
        assert.equal(chLine.includes("Nullable("), nullable, `${name}.${col} nullability in ClickHouse`);
      }
    }
  }
});

Deno.test("the tick table's layout is the one tick tables always had", () => {
  const kind = tableKind("tick");
  assert.deepEqual(kind.key, ["symbol", "source", "ts", "kafka_topic", "kafka_partition", "kafka_offset"]);
  assert.equal(
    postgresTableDdl(kind, "t").replace(/\s+/g, " "),
    `CREATE TABLE IF NOT EXISTS "t" ( "symbol" text NOT NULL, "source" text NOT NULL, "exchange" text, ` +
      `"ts" timestamptz NOT NULL CHECK ("ts" >= 'epoch'), "price" double precision NOT NULL, ` +
      `"bid" double precision, "ask" double precision, "volume" double precision, "kafka_topic" text NOT NULL, ` +
      `"kafka_partition" integer NOT NULL, "kafka_offset" bigint NOT NULL, PRIMARY KEY ("symbol", "source", ` +
      `"ts", "kafka_topic", "kafka_partition", "kafka_offset") )`,
  );
  assert.equal(
    clickHouseTableDdl("tick", "t").replace(/\s+/g, " "),
    "CREATE TABLE IF NOT EXISTS `t` ( `symbol` String, `source` String, `exchange` Nullable(String), " +
      "`ts` UInt64, `price` Float64, `bid` Nullable(Float64), `ask` Nullable(Float64), " +
      "`volume` Nullable(Float64), `kafka_topic` String, `kafka_partition` Int32, `kafka_offset` Int64 ) " +
      "ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000))) " +
      "ORDER BY (`symbol`, `source`, `ts`, `kafka_topic`, `kafka_partition`, `kafka_offset`)",
  );
});

Deno.test("every kind in the registry is declared under its own name", () => {
  for (const name of TABLE_KINDS) assert.equal(TABLE_KIND_SPECS[name].name, name);
});

Deno.test("avroColumns maps every Avro type a schema may grow: primitives, logical timestamps, enums, JSON for the rest", () => {
  const columns = avroColumns({
    type: "record",
    name: "Probe",
    fields: [
      { name: "dedupKey", type: "string" },
      { name: "seq", type: "int" },
      { name: "seen", type: { type: "long", logicalType: "timestamp-millis" } },
      { name: "state", type: { type: "enum", name: "S", symbols: ["OPEN", "RESOLVED"] } },
      { name: "params", type: { type: "map", values: "double" } },
      { name: "inputs", type: ["null", { type: "array", items: { type: "record", name: "I", fields: [] } }] },
      { name: "either", type: ["string", "double"] },
      { name: "flag", type: "boolean", default: false },
    ],
  });
  assert.deepEqual(
    columns.map((c) => [c.name, c.field, c.type, c.nullable]),
    [
      ["dedup_key", "dedupKey", "string", false],
      ["seq", "seq", "int", false],
      ["seen", "seen", "timestamp", false],
      ["state", "state", "enum", false],
      ["params", "params", "json", false],
      ["inputs", "inputs", "json", true],
      ["either", "either", "json", false],
      ["flag", "flag", "boolean", false],
    ],
  );
  assert.throws(
    () => avroColumns({ type: "record", name: "P", fields: [{ name: "b", type: "bytes" }] }),
    /P\.b: Avro type "bytes" has no column type/,
  );
});
