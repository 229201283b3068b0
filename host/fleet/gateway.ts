// `morsel gateway`: serial boards (USB) bridged to the broker, as a Raspberry Pi next to a rack of boards
// would. Per port: one SerialLink, one BoardTransport (its own MQTT session and last will), the agent's
// frames passed through both ways. The gateway asks the board for INFO itself with seq 0, which no host
// request uses, so its answers never reach a waiting host.

import { DeviceClient } from '../serial/client';
import { SerialLink } from '../serial/link';
import { decodeFrame, type DeviceInfo, encodeFrame, Msg } from '../serial/protocol';
import { SlipDecoder, slipEncode } from '../serial/slip';
import { BoardTransport } from './transport';

export interface GatewayOptions {
  ports: string[];
  brokerUrl: string;
  fleet: string;
  group: string;
  baud?: number;
  log?: (line: string) => void;
}

export interface GatewayBoard {
  port: string;
  id: string;
  transport: BoardTransport;
  link: SerialLink;
}

export async function startGateway(o: GatewayOptions): Promise<GatewayBoard[]> {
  const boards: GatewayBoard[] = [];
  try {
    for (const port of o.ports) boards.push(await bridge(port, o));
  } catch (e) {
    await stopGateway(boards);
    throw e;
  }
  return boards;
}

async function bridge(port: string, o: GatewayOptions): Promise<GatewayBoard> {
  const baud = o.baud ?? 115200;
  const link = await SerialLink.open(port, { baudRate: baud, bytesPerSecond: baud / 10 });
  const info = await new DeviceClient(link, { bytesPerSecond: baud / 10 }).helloWithRetry(3);
  const transport = new BoardTransport({
    brokerUrl: o.brokerUrl,
    fleet: o.fleet,
    device: info.id,
    group: o.group,
    kind: 'gateway',
    toAgent: (bytes) => void link.write(bytes).catch((e) => o.log?.(`${port}: ${(e as Error).message}`)),
  });
  const publishInfo = (i: DeviceInfo) =>
    transport.setInfo({
      id: i.id,
      engine: i.engine,
      model: i.model,
      pending: i.pending,
      free: i.free,
      agent: i.agent,
      runtime: i.runtime,
      auth: i.auth ?? null,
    });
  publishInfo(info);
  const decoder = new SlipDecoder(8192);
  link.onData((chunk) => {
    for (const raw of decoder.push(chunk)) {
      const f = decodeFrame(raw);
      if (!f) continue;
      if (f.type === Msg.INFO && f.seq === 0) {
        publishInfo(JSON.parse(f.payload.toString('latin1')));
        continue;
      }
      transport.fromAgent(f, slipEncode(raw));
      if (f.type === Msg.COMMITTED) void link.write(slipEncode(encodeFrame(Msg.HELLO, 0))).catch(() => undefined);
    }
  });
  o.log?.(`${port}: board ${info.id} (${info.engine}) bridged to ${o.brokerUrl}`);
  return { port, id: info.id, transport, link };
}

export async function stopGateway(boards: GatewayBoard[]): Promise<void> {
  await Promise.all(
    boards.map(async (b) => {
      await b.transport.close();
      await b.link.close();
    }),
  );
}
