import type { Frame, Page } from 'playwright-core';

/**
 * Opens a B24Select (its trigger carries the test id), clicks the option with that label, and
 * waits until the option list is gone: under load the popup may still be closing, and its overlay
 * would swallow the next click. A list that stays open is closed with Escape.
 *
 * The items may arrive after the list opened (the CRM directory loads when a tab is first shown),
 * and a re-render while they arrive may close the list again: then the list is opened once more,
 * until `timeoutMs`. A failure names the options the list did show, so a CI log says which.
 */
export async function chooseOption(on: Page | Frame, testId: string, option: string, timeoutMs = 60_000): Promise<void> {
  const trigger = on.getByTestId(testId);
  const list = on.getByRole('listbox').first();
  const wanted = on.getByRole('option', { name: option, exact: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await list.isVisible())) await trigger.click();
    try {
      await wanted.click({ timeout: 5_000 });
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        const seen = await on.getByRole('option').allInnerTexts().catch(() => []);
        throw new Error(`option «${option}» of ${testId} never showed; the list showed: [${seen.join(' | ')}]`, { cause: e });
      }
      if (await list.isVisible()) await trigger.press('Escape').catch(() => undefined);
    }
  }
  try {
    await list.waitFor({ state: 'hidden', timeout: 5_000 });
  } catch {
    await trigger.press('Escape');
    await list.waitFor({ state: 'hidden', timeout: 5_000 });
  }
}
