import type { LimitCheck } from './dataset-limits.js';

/**
 * Splits text that arrives in pieces into its '\n'-separated lines, numbered from 1. A line past
 * the longest allowed is refused as soon as it is, not once it has all arrived.
 */
export class LineSplitter {
  private pending = '';
  private line = 1;

  constructor(
    private readonly onLine: (content: string, line: number) => void,
    private readonly limits: LimitCheck,
  ) {}

  write(text: string): void {
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const content = this.pending + text.slice(start, end);
      this.pending = '';
      this.limits.lineLength(content, this.line);
      this.onLine(content, this.line++);
      start = end + 1;
    }
    this.pending += text.slice(start);
    this.limits.lineLength(this.pending, this.line);
  }

  /** The last line, when the text does not end with '\n'. */
  end(): void {
    if (this.pending) this.onLine(this.pending, this.line);
    this.pending = '';
  }
}
