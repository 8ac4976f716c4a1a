import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { InstallProgress, StepView } from '../../server/contracts/install';
import { ApiRequestError, useApi } from '../api/api-client';

export type InstallStatus = 'idle' | 'running' | 'done' | 'failed';

export interface InstallFailure {
  code: string;
  message: string;
  /** The failed step, when the server reported one. */
  step?: StepView;
}

/** Install page state: the plan's steps with live status, overall status and the first failure. */
export const useInstallStore = defineStore('install', () => {
  const api = useApi();
  const steps = ref<StepView[]>([]);
  const status = ref<InstallStatus>('idle');
  const failure = ref<InstallFailure | null>(null);
  const failedStep = computed(() => steps.value.find((s) => s.status === 'failed'));

  function apply(event: InstallProgress): void {
    if (event.type === 'plan') steps.value = event.steps;
    if (event.type !== 'step') return;
    const i = steps.value.findIndex((s) => s.id === event.step.id);
    if (i === -1) steps.value.push(event.step);
    else steps.value.splice(i, 1, event.step);
  }

  function failureFromSteps(): InstallFailure {
    const step = failedStep.value;
    if (step?.error) return { ...step.error, step };
    return { code: 'INSTALL_FAILED', message: step?.detail ?? '', step };
  }

  /** Runs the whole plan on the server; a second call while running is ignored. */
  async function run(): Promise<void> {
    if (status.value === 'running') return;
    status.value = 'running';
    failure.value = null;
    try {
      const ok = await api.runInstall(apply);
      status.value = ok ? 'done' : 'failed';
      if (!ok) failure.value = failureFromSteps();
    } catch (error) {
      const e = error instanceof ApiRequestError ? error : new ApiRequestError('UNEXPECTED', String(error));
      status.value = 'failed';
      failure.value = { code: e.code, message: e.message, step: failedStep.value };
    }
  }

  /** Re-runs the whole plan: every step is idempotent (style.md rule 8), so nothing is skipped. */
  function retry(): Promise<void> {
    steps.value = steps.value.map(({ id, label }) => ({ id, label, status: 'pending' as const }));
    return run();
  }

  return { steps, status, failure, run, retry };
});
