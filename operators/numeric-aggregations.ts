import { defineStep, expression, type StepSpec } from './spec.js';

const numeric = (name: string, doc: string): StepSpec =>
  defineStep({
    name,
    doc,
    example: `- ${name}: value.qty`,
    transitions: { grouped: 'table' },
    args: expression('a number taken from each record'),
    expressions: [{ path: [], scope: 'record' }],
    aggregates: true,
  });

export const sum = numeric('sum', 'Sums a number per key (and window).');
export const min = numeric('min', 'The smallest number seen per key (and window).');
export const max = numeric('max', 'The largest number seen per key (and window).');
export const avg = numeric('avg', 'The mean of a number per key (and window), kept as sum and count.');
