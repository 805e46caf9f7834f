/**
 * Progress of a long task an agent runs (a backfill, a replay): records done out of a total when known, rate,
 * percent and estimated time left — what the terminal and the dashboard show.
 *
 * @module
 */

/** One task's progress as the tree and the dashboard show it. */
export interface TaskProgress {
  /** The task's name, e.g. `replay` or `backfill BTC-USD`. */
  task: string;
  /** Records done. */
  done: number;
  /** Records in all, when known. */
  total?: number;
  /** `done / total` in percent, when the total is known. */
  percent?: number;
  /** Records per second since the task started. */
  ratePerSecond: number;
  /** Seconds left at that rate, when the total is known and the rate is above 0. */
  etaSeconds?: number;
  /** ISO times. */
  startedAt: string;
  updatedAt: string;
  finished: boolean;
}

/**
 * Keeps the progress of an actor's tasks from its reports.
 *
 * @example
 * ```ts
 * const meter = new ProgressMeter();
 * meter.report("replay", 150, 300);
 * meter.tasks(); // [{ task: "replay", done: 150, total: 300, percent: 50, ratePerSecond: …, etaSeconds: … }]
 * ```
 */
export class ProgressMeter {
  #tasks = new Map<
    string,
    { startedAt: number; done: number; total?: number; updatedAt: number; finished: boolean }
  >();
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Records a report; a task whose `done` goes back (a new run of it) starts over.
   *
   * @returns the task's progress after it
   * @throws {RangeError} for a negative or non-finite `done` or `total`
   */
  report(task: string, done: number, total?: number, finished = false): TaskProgress {
    if (
      !Number.isFinite(done) || done < 0 || (total !== undefined && (!Number.isFinite(total) || total < 0))
    ) {
      throw new RangeError(`Cannot report progress of ${task}: done ${done}, total ${total}`);
    }
    const now = this.#now();
    const previous = this.#tasks.get(task);
    const startedAt = previous && previous.done <= done && !previous.finished ? previous.startedAt : now;
    this.#tasks.set(task, { startedAt, done, total, updatedAt: now, finished });
    return this.#view(task)!;
  }

  /** Every task's progress, in the order they started. */
  tasks(): TaskProgress[] {
    return [...this.#tasks.keys()].map((t) => this.#view(t)!);
  }

  #view(task: string): TaskProgress | undefined {
    const t = this.#tasks.get(task);
    if (!t) return undefined;
    const seconds = Math.max((t.updatedAt - t.startedAt) / 1000, 1e-3);
    const ratePerSecond = t.done / seconds;
    const left = t.total !== undefined ? Math.max(t.total - t.done, 0) : undefined;
    return {
      task,
      done: t.done,
      ...(t.total !== undefined
        ? { total: t.total, percent: t.total === 0 ? 100 : Math.min(100, (100 * t.done) / t.total) }
        : {}),
      ratePerSecond,
      ...(left !== undefined && (t.finished || ratePerSecond > 0)
        ? { etaSeconds: t.finished ? 0 : left / ratePerSecond }
        : {}),
      startedAt: new Date(t.startedAt).toISOString(),
      updatedAt: new Date(t.updatedAt).toISOString(),
      finished: t.finished,
    };
  }
}

/** One line for a person: `replay 150/300 (50%), 75/s, ETA 2 s`. */
export function progressLine(p: TaskProgress): string {
  const of = p.total !== undefined ? `/${p.total} (${p.percent!.toFixed(0)}%)` : "";
  const eta = p.finished ? "done" : p.etaSeconds !== undefined ? `ETA ${formatSeconds(p.etaSeconds)}` : "";
  return `${p.task} ${p.done}${of}, ${p.ratePerSecond.toFixed(p.ratePerSecond < 10 ? 1 : 0)}/s${
    eta ? `, ${eta}` : ""
  }`;
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.ceil(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
