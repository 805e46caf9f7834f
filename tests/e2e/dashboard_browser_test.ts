/**
 * The dashboard in a real browser: `deno task start` on the embedded defaults (the shipped pipeline.yaml, only
 * the data dir and port set), headless Chromium (Debian's `chromium`, driven by puppeteer-core) opens the link
 * the banner prints, and the test reads what a person sees, on `data-*` attributes: the tree, a price chart and
 * the lag view update live; a pause clicked on the page makes the agent's lag grow, a resume drains it; the
 * token stays kept by the page across a reload. It saves a screenshot (`.cache/screenshots/dashboard.png`;
 * with `QISTREAM_UPDATE_SCREENSHOT=1`, `docs/images/dashboard.png`, the one docs/dashboard.md shows).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import puppeteer, { type Page } from "puppeteer-core";
import { spawnStart, untilBanner } from "./_pipeline_harness.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ??
  ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const ROOT = new URL("../../", import.meta.url);

/** A `data-*` attribute of the first element `selector` matches, in the page ("" when absent). */
const attr = (selector: string, name: string) =>
  `(document.querySelector(${JSON.stringify(selector)})?.getAttribute(${
    JSON.stringify(`data-${name}`)
  }) ?? "")`;

/** Waits until `expression` (JavaScript run in the page) is truthy. */
async function until(page: Page, what: string, expression: string, timeoutMs = 60_000): Promise<void> {
  try {
    await page.waitForFunction(expression, { timeout: timeoutMs, polling: 250 });
  } catch (error) {
    const seen = await page.evaluate(
      `[...document.querySelectorAll("#agents tbody tr")].map((r) => JSON.stringify(r.dataset)).join(" ")`,
    ).catch(() => "");
    throw new Error(`timed out waiting for ${what}; agents: ${seen}`, { cause: error });
  }
}

/** A numeric `data-*` attribute, read now. */
const number = async (page: Page, selector: string, name: string) =>
  Number(await page.evaluate(attr(selector, name)));

Deno.test({
  name: CHROMIUM
    ? "dashboard: in headless Chromium the tree, a chart and the lag update live; pause grows lag, resume drains"
    : "dashboard: browser test skipped: no chromium binary (apt-get install chromium, or set CHROMIUM_PATH)",
  ignore: !CHROMIUM,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-dashboard-" });
    const started = spawnStart([], { QISTREAM_DATA_DIR: dataDir, QISTREAM_HTTP_PORT: "0" });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    });
    try {
      await untilBanner(started, "the start banner", 120_000);
      const banner = started.output();
      const link = banner.match(/^Dashboard: (http:\/\/\S+\/\?token=\w+)$/m)?.[1];
      assert.ok(link, `the banner starts with the dashboard link:\n${banner.slice(0, 2000)}`);
      assert.ok(
        banner.indexOf("Dashboard:") < banner.indexOf("is up"),
        "the dashboard link comes first",
      );

      const page = await browser.newPage();
      await page.setViewport({ width: 1400, height: 1200 });
      await page.goto(link);
      assert.equal(new URL(page.url()).search, "", "the token leaves the address bar");
      await until(page, "the event stream to be live", `${attr("#connection", "connection")} === "live"`);
      assert.equal(await page.evaluate(attr("#whoami", "admin")), "true");

      // The tree updates live and shows the consumer's membership.
      const dispatcher = '[data-path="root/bar-builder/bar-builder.dispatcher"]';
      await page.waitForSelector(`${dispatcher}[data-state="running"]`, { timeout: 60_000 });
      const treeUpdates = await number(page, "#tree", "updates");
      await until(page, "the tree to update", `Number(${attr("#tree", "updates")}) >= ${treeUpdates + 2}`);
      assert.ok(await number(page, "#tree", "updates") > treeUpdates, "the tree re-rendered");

      // A price chart grows.
      const chart = '.chart[data-symbol="BTC-USD"]';
      await page.waitForSelector(chart, { timeout: 60_000 });
      const points = await number(page, chart, "points");
      await until(
        page,
        "the BTC-USD chart to get more points",
        `Number(${attr(chart, "points")}) > ${points + 5}`,
      );
      assert.notEqual(await page.evaluate(attr(chart, "last-price")), "", "the chart shows the last price");

      // The lag view shows every partition of the bar builder's group, measured again and again.
      await until(
        page,
        "lag rows of qistream.bar-builder",
        `document.querySelectorAll('#lag tr[data-group="qistream.bar-builder"]').length === 6`,
      );
      const lagUpdates = await number(page, "#lag", "updates");
      await until(page, "the lag view to update", `Number(${attr("#lag", "updates")}) >= ${lagUpdates + 2}`);
      assert.ok(await number(page, "#lag", "updates") > lagUpdates);

      // Pause from the page: the row says paused, the lag grows.
      const row = 'tr[data-agent="bar-builder"]';
      await page.click(`${row} button[data-action="pause"]`);
      await until(
        page,
        "bar-builder to show paused",
        `${attr(row, "desired")} === "paused" && ${attr(row, "state")} === "paused"`,
      );
      await until(
        page,
        "the tree to show the dispatcher paused",
        `${attr(dispatcher, "state")} === "paused"`,
      );
      await until(
        page,
        "the paused bar-builder's lag to grow past 250 records",
        `Number(${attr(row, "lag")}) > 250`,
        90_000,
      );
      assert.ok(
        await number(page, 'tr[data-agent="postgres-sink"]', "lag") < 250,
        "the other consumer keeps up",
      );

      // The token is kept by the page: a reload without it is still signed in.
      await page.goto(new URL("/", link).href);
      await until(
        page,
        "the reloaded page to be live",
        `${attr("#connection", "connection")} === "live" && ${attr(row, "desired")} === "paused"`,
      );

      await page.click(`${row} button[data-action="resume"]`);
      await until(page, "bar-builder to run again", `${attr(row, "desired")} === "running"`);
      await until(
        page,
        "the resumed bar-builder to drain its lag",
        `Number(${attr(row, "lag")}) < 100`,
        90_000,
      );

      const target = Deno.env.get("QISTREAM_UPDATE_SCREENSHOT") === "1"
        ? new URL("docs/images/dashboard.png", ROOT)
        : new URL(".cache/screenshots/dashboard.png", ROOT);
      await Deno.mkdir(new URL(".", target), { recursive: true });
      await page.screenshot({ path: target.pathname as `${string}.png`, fullPage: true });
      assert.ok((await Deno.stat(target)).size > 10_000, "a screenshot was saved");
    } finally {
      await browser.close().catch(() => {});
      started.child.kill("SIGTERM");
      await started.status;
      await started.reading;
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
