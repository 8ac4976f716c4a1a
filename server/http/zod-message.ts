import type { z } from 'zod';

/** One readable line out of a zod error: "auth.member_id: Required; event: …". */
export function zodMessage(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}
