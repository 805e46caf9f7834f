/**
 * Source offsets: where source agents keep their position between runs and across nodes.
 *
 * @module
 */
export type { SourceOffsetStore, SourcePosition } from "./source_offset_store.ts";
export { FileOffsetStore, SOURCE_OFFSETS_FILE } from "./file_offset_store.ts";
export { SOURCE_OFFSETS_TOPIC, TopicOffsetStore } from "./topic_offset_store.ts";
