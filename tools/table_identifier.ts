/**
 * The name of a table the tools create: a plain lowercase SQL identifier (quoted by the tools anyway).
 *
 * @module
 */
import { z } from "zod";

/** Zod schema of a table identifier. */
export const tableIdentifierSchema = z.string().regex(
  /^[a-z_][a-z0-9_]{0,62}$/,
  "expected a lowercase identifier",
)
  .describe("Table name (lowercase identifier)");
