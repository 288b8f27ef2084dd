/** v3 instance tags (spec "Instance Tags"). */
import { randomBytes, type RandomSource } from './crypto/group.js';

export const MIN_INSTANCE_TAG = 0x100;

/** A random tag >= 0x100 (from the system CSPRNG unless `random` is given). */
export function randomInstanceTag(random: RandomSource = randomBytes): number {
  for (;;) {
    const b = random(4);
    const t = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
    if (t >= MIN_INSTANCE_TAG) return t;
  }
}

export function isValidInstanceTag(t: number): boolean {
  return Number.isInteger(t) && t >= MIN_INSTANCE_TAG && t <= 0xffffffff;
}

/**
 * Whether a v3 message with these tags is for us: the sender must be a valid tag, the receiver must be ours,
 * or 0 where the message type allows an unknown recipient (the D-H Commit).
 */
export function acceptsInstanceTags(
  ours: number,
  sender: number,
  receiver: number,
  receiverMayBeZero: boolean,
): boolean {
  if (sender < MIN_INSTANCE_TAG) return false;
  if (receiver === 0) return receiverMayBeZero;
  return receiver === ours;
}
