/** The serial ports of the box, for picking an RTU device's `path`. serialport loads only when asked. */
export async function listSerialPorts(): Promise<{ path: string; manufacturer?: string }[]> {
  const { SerialPort } = await import('serialport');
  const ports = await SerialPort.list();
  return ports.map((p) => (p.manufacturer ? { path: p.path, manufacturer: p.manufacturer } : { path: p.path }));
}
