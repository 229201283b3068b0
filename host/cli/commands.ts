import type { Command } from './main';
import { convertCommand } from './convert';
import { demoCommand } from './demo';
import { evalCommand } from './eval';
import { inspectCommand } from './inspect-command';
import { runCommand } from './run';

export const COMMANDS: Record<string, Command> = {
  convert: convertCommand,
  inspect: inspectCommand,
  eval: evalCommand,
  run: runCommand,
  demo: demoCommand,
};
