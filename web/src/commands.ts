// Capture commands sent from a page (doc/capture_commands.md).
import { post, studyPath } from './api';
import type { CommandReply } from './types';
import { announce } from './ui';

export interface CommandOutcome {
  message: string; // what was done, then what followed from it; empty when refused
  error: string; // why it was refused
  reply?: CommandReply; // the server's answer, when done
}

// Runs a command; the server's first message restates the command (`done`
// says it for the page), the others are what followed: queries closed,
// signatures broken.
export async function runCommand(study: string, body: Record<string, unknown>, done: string): Promise<CommandOutcome> {
  try {
    const reply = await post<CommandReply>(studyPath(study) + '/commands', body);
    announce(done);
    return { message: [done, ...reply.messages.slice(1)].join(' · '), error: '', reply };
  } catch (e) {
    return { message: '', error: (e as Error).message };
  }
}
