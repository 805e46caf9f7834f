/**
 * The dashboard a node serves at `/`: its files, and the event feed behind `/api/events`.
 *
 * @module
 */
export {
  DashboardFeed,
  type DashboardFeedOptions,
  type FeedEvent,
  type RecordKind,
} from "./dashboard_feed.ts";
export { serveDashboardFile } from "./static_files.ts";
export { type AgentRate, ThroughputMeter } from "./throughput_meter.ts";
