/**
 * What `/readyz` reports besides the database: one current problem per component (Slack, Discord, the Admin
 * API), each a sentence an operator can act on, set while the component is down and cleared when it recovers.
 */
export class Readiness {
  private readonly problems = new Map<string, string>();

  /** Records (or, with null, clears) the problem of one component. */
  set(component: string, problem: string | null): void {
    if (problem === null) this.problems.delete(component);
    else this.problems.set(component, problem);
  }

  get(component: string): string | undefined {
    return this.problems.get(component);
  }

  list(): string[] {
    return [...this.problems.values()];
  }
}
