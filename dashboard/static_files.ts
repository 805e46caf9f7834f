/**
 * The dashboard's files (`dashboard/static/`: one HTML page, one JS module, CSS, and the vendored uPlot) served
 * at `/` by the node itself: nothing to build or install. Paths outside the folder are not served.
 *
 * @module
 */

const ROOT = new URL("./static/", import.meta.url);
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};
const FILES = new Set([
  "index.html",
  "dashboard.js",
  "dashboard.css",
  "vendor/uPlot.esm.js",
  "vendor/uPlot.min.css",
  "vendor/uPlot.LICENSE",
]);

/**
 * Answers a GET for a dashboard file: `/` is `index.html`; anything else not in the folder is 404.
 *
 * @param request The request (mounted at `/`, after every other route).
 * @returns The file, or 404/405.
 */
export async function serveDashboardFile(request: Request): Promise<Response> {
  const path = new URL(request.url).pathname;
  if (path === "/favicon.ico") return new Response(null, { status: 204 });
  const name = path === "/" ? "index.html" : path.slice(1);
  if (!FILES.has(name)) return Response.json({ error: "not found", path }, { status: 404 });
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed", { status: 405, headers: { allow: "GET" } });
  }
  const body = await Deno.readFile(new URL(name, ROOT));
  const ext = name.split(".").pop()!;
  return new Response(request.method === "HEAD" ? null : body, {
    headers: {
      "content-type": TYPES[ext] ?? "text/plain; charset=utf-8",
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      // The page loads only its own files and talks only to this node.
      "content-security-policy":
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    },
  });
}
