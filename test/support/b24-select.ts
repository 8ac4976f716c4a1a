import type { Frame, Page } from 'playwright-core';

/**
 * Opens a B24Select (its trigger carries the test id), clicks the option with that label, and
 * waits until the option list is gone: under load the popup may still be closing, and its overlay
 * would swallow the next click. A list that stays open is closed with Escape.
 */
export async function chooseOption(on: Page | Frame, testId: string, option: string): Promise<void> {
  const trigger = on.getByTestId(testId);
  await trigger.click();
  await on.getByRole('option', { name: option, exact: true }).click();
  const list = on.getByRole('listbox').first();
  try {
    await list.waitFor({ state: 'hidden', timeout: 5_000 });
  } catch {
    await trigger.press('Escape');
    await list.waitFor({ state: 'hidden', timeout: 5_000 });
  }
}
