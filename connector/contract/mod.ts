/**
 * The stream-connector contract suite, run unchanged against every implementation.
 *
 * @module
 */
export { type ContractSuiteOptions, JAVA_MURMUR2_VECTORS, runContractSuite } from "./contract_suite.ts";
