// The serial protocol's Link (host/serial/link.ts) over MQTT: each message on a device's `down` topic is one
// SLIP-encoded frame, exactly the bytes a UART would carry, and its `up` topic carries the answers. So the
// serial DeviceClient (hello, windowed resumable flash, commit, run) drives a board across the broker unchanged.

import type { MqttClient } from 'mqtt';
import type { Link } from '../serial/link';
import { deviceTopic } from './topics';

export class MqttLink implements Link {
  bytesOut = 0;
  bytesIn = 0;
  private listeners: ((chunk: Buffer) => void)[] = [];
  private readonly up: string;
  private readonly down: string;
  private closed = false;
  private readonly onMessage = (topic: string, payload: Buffer) => {
    if (topic !== this.up || this.closed) return;
    this.bytesIn += payload.length;
    for (const l of this.listeners) l(payload);
  };

  private constructor(
    private readonly client: MqttClient,
    fleet: string,
    device: string,
  ) {
    this.up = deviceTopic(fleet, device, 'up');
    this.down = deviceTopic(fleet, device, 'down');
  }

  /** A link to one device on a connected client (which may carry many such links). */
  static async open(client: MqttClient, fleet: string, device: string): Promise<MqttLink> {
    const link = new MqttLink(client, fleet, device);
    client.on('message', link.onMessage);
    await client.subscribeAsync(link.up, { qos: 1 });
    return link;
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.listeners.push(listener);
  }

  async write(data: Buffer): Promise<void> {
    if (this.closed) throw new Error('link closed');
    await this.client.publishAsync(this.down, data, { qos: 1 });
    this.bytesOut += data.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.off('message', this.onMessage);
    await this.client.unsubscribeAsync(this.up).catch(() => undefined);
  }
}
