import type { Command } from './main';
import { bundleCommand } from './bundle';
import { compressCommand, reportCommand } from './compress-commands';
import { convertCommand } from './convert';
import { demoCommand } from './demo';
import { diffCommand } from './diff';
import { evalCommand } from './eval';
import { exportCommand } from './export';
import { fleetCommand, gatewayCommand } from './fleet';
import { inspectCommand } from './inspect-command';
import { runCommand } from './run';
import { workloadCommand } from './workload';
import {
  devicesCommand,
  emulateCommand,
  flashCommand,
  keygenCommand,
  monitorCommand,
  uninstallCommand,
} from './serial-commands';

export const COMMANDS: Record<string, Command> = {
  convert: convertCommand,
  inspect: inspectCommand,
  eval: evalCommand,
  run: runCommand,
  diff: diffCommand,
  export: exportCommand,
  bundle: bundleCommand,
  compress: compressCommand,
  report: reportCommand,
  devices: devicesCommand,
  keygen: keygenCommand,
  flash: flashCommand,
  uninstall: uninstallCommand,
  monitor: monitorCommand,
  workload: workloadCommand,
  emulate: emulateCommand,
  demo: demoCommand,
  fleet: fleetCommand,
  gateway: gatewayCommand,
};
