import { scaledClock, systemClock } from '../../server/domain/clock';
import { benchRestPacing } from './rest-pacing';

/**
 * `npm run bench` — prints figures; asserts nothing (targets are read by people, see README).
 * Time-bound benches run on a scaled clock shared by the emulator and the app (default ×10),
 * which models the same bucket 10× faster; `--real` runs in real time.
 *   npm run bench [-- --real] [-- --scale 20]
 */
const args = process.argv.slice(2);
const real = args.includes('--real');
const scaleArg = args.indexOf('--scale');
const scale = real ? 1 : scaleArg >= 0 ? Number(args[scaleArg + 1]) : 10;
const clock = scale === 1 ? systemClock : scaledClock(scale);

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

async function main() {
  console.log(`UIS OMNI benchmarks (clock ×${scale}${scale === 1 ? ', real time' : '; seconds below are emulated seconds'})\n`);

  const rateLimit = { drainPerSec: 2, burst: 50 };
  const p = await benchRestPacing({ clock, calls: 1000, rateLimit });
  console.log('REST pacing: 1,000 calls through one portal client, bucket 2 req/s, burst 50');
  console.log(`  calls completed        ${p.completed} / ${p.calls} (failed ${p.failed})`);
  console.log(`  503s provoked          ${p.limited503}   (goal 0)`);
  console.log(`  time                   ${p.virtualSeconds.toFixed(1)} s (bucket minimum ${p.minimalSeconds.toFixed(1)} s)`);
  console.log(`  share of allowed rate  ${pct(p.shareOfAllowed)}   (goal ≥ 95 %)`);
  console.log(`  memory (rss)           ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
