/**
 * The values that flow from the adapters through the machine layer into the outbox. They
 * live below every stage so that none has to import another to name them.
 */
/** A decoded value, ready for the machine layer. Bad values never get here. */
export type SignalValue = number | boolean | string;

export interface Reading {
  machine: string;
  /** Signal key, see src/adapters/signals.ts. */
  signal: string;
  value: SignalValue;
  /** The value as the protocol gave it (register words, JSON fragment, variant), for display. */
  raw?: unknown;
  /** Epoch ms at which it was read. */
  at: number;
  /**
   * The transport may have delivered this value before (MQTT's DUP flag on a QoS 1 resend,
   * e.g. after a broker restart with persistence): an older value than the last one taken is
   * a replay, not a fall.
   */
  redelivered?: boolean;
  /**
   * A count or waste value only: the modulus at which the source's counter wraps, as the
   * protocol knows its type — the Modbus register type, the OPC UA integer DataType, MQTT's
   * documented default (MQTT_COUNTER_ROLLOVER). Undefined: it never wraps (a fall is a reset).
   * The machine's `counterRollover` overrides it.
   */
  rollover?: number;
}
