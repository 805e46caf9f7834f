/**
 * Local fakes of the paid market-data APIs (CryptoCompare, Twelve Data), speaking their real wire
 * formats on 127.0.0.1 with switches for every error shape and streaming fault. For tests only.
 *
 * @module
 */
export {
  type CryptoCompareFault,
  type FakeCryptoCompare,
  type FakeCryptoCompareOptions,
  type RecordedRequest,
  startFakeCryptoCompare,
} from "./cryptocompare_fake.ts";
export {
  type FakeTwelveData,
  type FakeTwelveDataOptions,
  startFakeTwelveData,
  type TwelveDataFault,
  type TwelveDataRequest,
} from "./twelvedata_fake.ts";
