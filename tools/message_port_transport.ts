/**
 * An MCP SDK `Transport` over a `MessagePort`, usable on either end of a `MessageChannel` (main thread and
 * Worker, or two ends in one thread). JSON-RPC messages travel as structured-cloned objects; closing one end tells
 * the other with a control message, so both see `onclose`.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";

/** The control message one end posts before closing its port. */
const CLOSE_SIGNAL = { "qistream/mcp-port": "close" } as const;

/**
 * An SDK transport over one end of a `MessageChannel`.
 *
 * @example
 * ```ts
 * const { port1, port2 } = new MessageChannel();
 * await server.connect(new MessagePortTransport(port1));
 * await client.connect(new MessagePortTransport(port2));
 * ```
 */
export class MessagePortTransport implements Transport {
  readonly #port: MessagePort;
  #closed = false;
  /** Called once when either end closes. */
  onclose?: () => void;
  /** Called for a message that is not valid JSON-RPC. */
  onerror?: (error: Error) => void;
  /** Called for each JSON-RPC message received. */
  onmessage?: (message: JSONRPCMessage) => void;

  /** @param port This end's port; the transport owns it from now on and closes it on `close()`. */
  constructor(port: MessagePort) {
    this.#port = port;
  }

  /** Starts receiving. */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot start MessagePortTransport: it is closed"));
    this.#port.onmessage = (event: MessageEvent<unknown>) => {
      const data = event.data;
      if (isCloseSignal(data)) {
        this.#finish();
        return;
      }
      const parsed = JSONRPCMessageSchema.safeParse(data);
      if (!parsed.success) {
        this.onerror?.(
          new Error(`MessagePortTransport received an invalid JSON-RPC message: ${parsed.error}`),
        );
        return;
      }
      this.onmessage?.(parsed.data);
    };
    this.#port.onmessageerror = () =>
      this.onerror?.(new Error("MessagePortTransport: message could not be read"));
    this.#port.start();
    return Promise.resolve();
  }

  /** Posts one JSON-RPC message to the other end. */
  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot send on MessagePortTransport: it is closed"));
    this.#port.postMessage(message);
    return Promise.resolve();
  }

  /** Tells the other end, closes the port and calls `onclose`. */
  close(): Promise<void> {
    if (!this.#closed) {
      try {
        this.#port.postMessage(CLOSE_SIGNAL);
      } catch { /* the other end is already gone */ }
    }
    this.#finish();
    return Promise.resolve();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.onmessage = null;
    this.#port.close();
    this.onclose?.();
  }
}

function isCloseSignal(data: unknown): boolean {
  return typeof data === "object" && data !== null &&
    (data as Record<string, unknown>)["qistream/mcp-port"] === "close";
}
