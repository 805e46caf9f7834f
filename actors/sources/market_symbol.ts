/**
 * Symbol normalisation: `BASE-QUOTE` for crypto and FX (`BTC-USD`), plain tickers for stocks (`AAPL`).
 *
 * @module
 */

/**
 * The normalised symbol of a currency pair.
 *
 * @param base e.g. `btc`
 * @param quote e.g. `USD`
 * @returns e.g. `BTC-USD`
 */
export function pairSymbol(base: string, quote: string): string {
  return `${base.toUpperCase()}-${quote.toUpperCase()}`;
}

/**
 * Normalises a Twelve Data symbol: `BTC/USD` → `BTC-USD`, `AAPL` → `AAPL`.
 *
 * @param symbol Twelve Data's symbol
 * @returns the normalised symbol
 */
export function fromSlashSymbol(symbol: string): string {
  const [base, quote] = symbol.split("/");
  return quote === undefined ? symbol.toUpperCase() : pairSymbol(base ?? "", quote);
}

/**
 * The Twelve Data spelling of a normalised symbol: `BTC-USD` → `BTC/USD`, `AAPL` → `AAPL`.
 *
 * @param symbol normalised symbol
 * @returns Twelve Data's symbol
 */
export function toSlashSymbol(symbol: string): string {
  return symbol.replace("-", "/");
}
