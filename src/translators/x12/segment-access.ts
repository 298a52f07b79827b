// Addressing elements, components and repetitions of a raw segment without copying the model.
import type { Delimiters, Segment } from './model.js';

/** The raw value of element `position` (1-based), or '' when the segment is shorter. */
export function element(seg: Segment, position: number): string {
  return seg.elements[position] ?? '';
}

/** The repetitions of element `position` (a one-item list when the interchange has no repetition separator). */
export function repetitions(seg: Segment, position: number, delimiters: Delimiters): string[] {
  const raw = element(seg, position);
  return delimiters.repetition ? raw.split(delimiters.repetition) : [raw];
}

/** The components of element `position` (repetition `rep`, 1-based), split on the component separator. */
export function components(seg: Segment, position: number, delimiters: Delimiters, rep = 1): string[] {
  const reps = repetitions(seg, position, delimiters);
  return (reps[rep - 1] ?? '').split(delimiters.component);
}

/** Component `component` (1-based) of element `position`, or '' when absent. */
export function component(seg: Segment, position: number, componentPosition: number, delimiters: Delimiters, rep = 1): string {
  return components(seg, position, delimiters, rep)[componentPosition - 1] ?? '';
}
