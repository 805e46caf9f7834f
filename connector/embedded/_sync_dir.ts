/**
 * Makes a directory's entries durable (new or renamed files survive a power loss). A no-op where directories
 * cannot be opened (Windows).
 *
 * @param dir The directory.
 */
export async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
