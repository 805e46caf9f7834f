/**
 * `deno task bench ask`: an execution-accuracy set of questions over a replayed data set (the 300 sample ticks,
 * replayed by the `replay` agent into embedded PostgreSQL by the sink), each with a reference SQL answer, asked
 * through `POST /api/ask` of an in-process node:
 *
 * - with the fake OpenAI server scripted to explore the schema and run the reference SQL: the plumbing's
 *   overhead per question (ms, tool calls, requests) beside the same reference SQL sent straight through the
 *   `postgres.query` MCP tool in the same run;
 * - with a real endpoint when `OPENAI_API_KEY` is set (`OPENAI_BASE_URL`, `OPENAI_MODEL`): execution accuracy —
 *   the share of questions whose last successful query returns the reference rows; otherwise skipped, saying so.
 *
 * @module
 */
import { serverSentEvents } from "../../cli/ask.ts";
import { SAMPLE_TICKS_PATH } from "../../actors/agents/replay.ts";
import { type FakeChatRequest, type FakeReply, startFakeOpenAI } from "../fakes/openai_fake.ts";
import { callTool, startNode, testConfig, type TestNode, waitFor } from "../e2e/_pipeline_harness.ts";
import { type BenchRow, formatBenchTable, perSecond } from "./bench_report.ts";

/** One question and the SQL whose result is the right answer. */
export interface BenchQuestion {
  question: string;
  sql: string;
}

const DAY = "2024-01-02";
const T = (s: string) => `'${DAY} 15:00:${s}+00'`;

/** The question set (the sample ticks span 30 s from 2024-01-02 15:00:00 UTC; four symbols, 75 ticks each). */
export const QUESTIONS: readonly BenchQuestion[] = [
  { question: "How many ticks are stored in total?", sql: "SELECT count(*) FROM market_ticks" },
  {
    question: "How many BTC-USD ticks are there?",
    sql: "SELECT count(*) FROM market_ticks WHERE symbol = 'BTC-USD'",
  },
  { question: "Which symbols have ticks?", sql: "SELECT DISTINCT symbol FROM market_ticks ORDER BY symbol" },
  {
    question: "How many distinct symbols are there?",
    sql: "SELECT count(DISTINCT symbol) FROM market_ticks",
  },
  {
    question: "What was the highest BTC-USD price?",
    sql: "SELECT max(price) FROM market_ticks WHERE symbol = 'BTC-USD'",
  },
  {
    question: "What was the lowest ETH-USD price?",
    sql: "SELECT min(price) FROM market_ticks WHERE symbol = 'ETH-USD'",
  },
  {
    question: "What was the average AAPL price?",
    sql: "SELECT avg(price) FROM market_ticks WHERE symbol = 'AAPL'",
  },
  {
    question: "What was the first BTC-USD price?",
    sql: "SELECT price FROM market_ticks WHERE symbol = 'BTC-USD' ORDER BY ts LIMIT 1",
  },
  {
    question: "What was the last ETH-USD price?",
    sql: "SELECT price FROM market_ticks WHERE symbol = 'ETH-USD' ORDER BY ts DESC LIMIT 1",
  },
  {
    question: "What is the total BTC-USD volume?",
    sql: "SELECT sum(volume) FROM market_ticks WHERE symbol = 'BTC-USD'",
  },
  {
    question: "How many ticks does each symbol have?",
    sql: "SELECT symbol, count(*) FROM market_ticks GROUP BY symbol ORDER BY symbol",
  },
  {
    question: "What is the BTC-USD price range (max minus min)?",
    sql: "SELECT max(price) - min(price) FROM market_ticks WHERE symbol = 'BTC-USD'",
  },
  { question: "When was the first tick?", sql: "SELECT min(ts) FROM market_ticks" },
  { question: "When was the last tick?", sql: "SELECT max(ts) FROM market_ticks" },
  {
    question: `How many ticks arrived in the first 10 seconds after 15:00 UTC on ${DAY}?`,
    sql: `SELECT count(*) FROM market_ticks WHERE ts >= ${T("00")} AND ts < ${T("10")}`,
  },
  {
    question: `How many EUR-USD ticks arrived between 15:00:10 and 15:00:20 UTC on ${DAY}?`,
    sql: `SELECT count(*) FROM market_ticks WHERE symbol = 'EUR-USD' AND ts >= ${T("10")} AND ts < ${
      T("20")
    }`,
  },
  {
    question: "What was the average bid-ask spread of BTC-USD?",
    sql: "SELECT avg(ask - bid) FROM market_ticks WHERE symbol = 'BTC-USD'",
  },
  {
    question: "Which symbol had the highest price?",
    sql: "SELECT symbol FROM market_ticks ORDER BY price DESC LIMIT 1",
  },
  {
    question: "Which symbol traded the most volume?",
    sql: "SELECT symbol FROM market_ticks GROUP BY symbol ORDER BY sum(volume) DESC LIMIT 1",
  },
  {
    question: "What was the highest price of each symbol?",
    sql: "SELECT symbol, max(price) FROM market_ticks GROUP BY symbol ORDER BY symbol",
  },
  {
    question: "How many ticks had a volume above 0.5?",
    sql: "SELECT count(*) FROM market_ticks WHERE volume > 0.5",
  },
  {
    question: "What was the average AAPL volume per tick?",
    sql: "SELECT avg(volume) FROM market_ticks WHERE symbol = 'AAPL'",
  },
];

/** Options of {@linkcode askBench}. */
export interface AskBenchOptions {
  /** A real endpoint, when `OPENAI_API_KEY` is set. */
  real?: { baseUrl?: string; apiKey: string; model?: string };
  progress(message: string): void;
}

/** A result's rows as a canonical, order-insensitive multiset of rounded values (column names ignored). */
export function canonicalRows(rows: readonly Record<string, unknown>[]): string {
  const cell = (v: unknown) => {
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    if (Number.isFinite(n)) return String(Math.round(n * 1e4) / 1e4);
    const d = typeof v === "string" ? Date.parse(v) : NaN;
    return Number.isFinite(d) ? String(d) : JSON.stringify(v);
  };
  return JSON.stringify(rows.map((r) => Object.values(r).map(cell).join("|")).sort());
}

interface Asked {
  ms: number;
  toolCalls: number;
  rows?: Record<string, unknown>[];
  error?: string;
}

async function ask(node: TestNode, token: string, question: string): Promise<Asked> {
  const started = performance.now();
  const response = await fetch(`${node.url}/api/ask`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ question }),
  });
  for await (const { event, data } of serverSentEvents(response.body!)) {
    if (event === "answer") {
      const a = data as { toolCalls: number; queries: { rows: Record<string, unknown>[] }[] };
      return { ms: performance.now() - started, toolCalls: a.toolCalls, rows: a.queries.at(-1)?.rows };
    }
    if (event === "error") {
      return { ms: performance.now() - started, toolCalls: 0, error: JSON.stringify(data) };
    }
  }
  return { ms: performance.now() - started, toolCalls: 0, error: "the stream ended early" };
}

/** The fake's model: describe the table, run the question's reference SQL, answer with the rows. */
function scriptedModel(request: FakeChatRequest): FakeReply {
  const question = String(request.messages[1]?.content);
  const tools = request.messages.filter((m) => m.role === "tool").length;
  if (tools === 0) {
    return { toolCalls: [{ name: "postgres__describe", arguments: { table: "market_ticks" } }] };
  }
  if (tools === 1) {
    const sql = QUESTIONS.find((q) => q.question === question)?.sql ?? "SELECT 1";
    return { toolCalls: [{ name: "postgres__query", arguments: { sql } }] };
  }
  return { content: `The answer is ${String(request.messages.at(-1)?.content).slice(0, 200)}` };
}

async function withNode<T>(
  env: Record<string, string | undefined>,
  dataDir: string,
  fn: (node: TestNode, token: string) => Promise<T>,
): Promise<T> {
  const token = crypto.randomUUID() + crypto.randomUUID();
  const config = testConfig(
    `
node: { name: bench, dataDir: ${dataDir}, http: { port: 0 } }
connections:
  llm: { model: "\${OPENAI_MODEL:-gpt-4o-mini}", timeoutMs: 60000 }
topics:
  market.ticks: { partitions: 2 }
  market.dead-letter: { partitions: 1 }
  llm.audit: { partitions: 1 }
agents:
  replay:
    kind: replay
    restart: transient
    publish: [market.ticks]
    config: { path: ${SAMPLE_TICKS_PATH}, speed: 0 }
  pg:
    kind: postgres-sink
    subscribe: { topics: [market.ticks], group: bench.pg, fromBeginning: true }
    tools: [postgres.ensure_table, postgres.insert_rows]
mcp:
  tokens: [{ name: bench, token: "\${BENCH_TOKEN}", role: reader }]
`,
    { ...env, BENCH_TOKEN: token },
  );
  const node = await startNode(config);
  try {
    await waitFor("the 300 replayed ticks in embedded PostgreSQL", async () => {
      const r = await callTool(node.url, token, "postgres.query", {
        sql: "SELECT count(*)::int AS n FROM market_ticks",
      });
      return { done: (r.rows as { n: number }[])[0]?.n === 300, seen: r.rows };
    }, 120_000);
    return await fn(node, token);
  } finally {
    await node.stop();
  }
}

/**
 * Runs the benchmark.
 *
 * @param options the real endpoint (optional) and progress
 * @returns the report
 */
export async function askBench(options: AskBenchOptions): Promise<string> {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-bench-ask-" });
  const fake = startFakeOpenAI(scriptedModel);
  const lines: string[] = [];
  try {
    await withNode(
      { OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY: "sk-bench-fake" },
      `${dataDir}/fake`,
      async (node, token) => {
        const reference = new Map<string, string>();
        let directMs = 0;
        for (const q of QUESTIONS) {
          const started = performance.now();
          const r = await callTool(node.url, token, "postgres.query", { sql: q.sql });
          directMs += performance.now() - started;
          reference.set(q.question, canonicalRows(r.rows as Record<string, unknown>[]));
        }
        options.progress(`fake: ${QUESTIONS.length} questions`);
        let askMs = 0;
        let toolCalls = 0;
        let correct = 0;
        for (const q of QUESTIONS) {
          const a = await ask(node, token, q.question);
          askMs += a.ms;
          toolCalls += a.toolCalls;
          if (a.rows && canonicalRows(a.rows) === reference.get(q.question)) correct++;
          else options.progress(`fake: "${q.question}" did not match: ${a.error ?? JSON.stringify(a.rows)}`);
        }
        const n = QUESTIONS.length;
        const rows: BenchRow[] = [{
          name: "ask via /api/ask, fake model",
          rate: perSecond(n, askMs),
          unit: "questions/s",
          baseline: { name: "the reference SQL via postgres.query (MCP)", rate: perSecond(n, directMs) },
        }];
        lines.push(formatBenchTable(`ask plumbing (${n} questions, fake OpenAI server)`, rows));
        lines.push(
          `  per question: ${(askMs / n).toFixed(1)} ms asked vs ${(directMs / n).toFixed(1)} ms direct ` +
            `(overhead ${((askMs - directMs) / n).toFixed(1)} ms), ${
              (toolCalls / n).toFixed(1)
            } tool calls, ` +
            `${
              (fake.requests.length / n).toFixed(1)
            } LLM requests; scripted answers matching the reference: ` +
            `${correct}/${n} (checks the plumbing, not a model)`,
        );
        if (!options.real) {
          lines.push("\naccuracy against a real endpoint: skipped (OPENAI_API_KEY is not set)");
          return;
        }
        const real = options.real;
        await withNode(
          {
            OPENAI_BASE_URL: real.baseUrl,
            OPENAI_API_KEY: real.apiKey,
            OPENAI_MODEL: real.model,
          },
          `${dataDir}/real`,
          async (realNode, realToken) => {
            let right = 0;
            let ms = 0;
            let calls = 0;
            for (const q of QUESTIONS) {
              const a = await ask(realNode, realToken, q.question);
              ms += a.ms;
              calls += a.toolCalls;
              const ok = a.rows !== undefined && canonicalRows(a.rows) === reference.get(q.question);
              if (ok) right++;
              options.progress(
                `real: ${ok ? "right" : "wrong"}: ${q.question}${a.error ? ` (${a.error})` : ""}`,
              );
            }
            lines.push(
              `\nexecution accuracy against ${real.baseUrl ?? "https://api.openai.com/v1"} (${
                real.model ?? "gpt-4o-mini"
              }): ` +
                `${right}/${n} = ${(100 * right / n).toFixed(0)} %, ${(ms / n).toFixed(0)} ms and ${
                  (calls / n).toFixed(1)
                } ` +
                "tool calls per question",
            );
          },
        );
      },
    );
    return lines.join("\n");
  } finally {
    await fake.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}
