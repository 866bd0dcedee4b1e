/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal distribution function, via a Chebyshev-fitted erfc (relative error below 1.2e-7). */
export function normalCdf(z: number): number {
  const x = -z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  const erfc = x >= 0 ? y : 2 - y;
  return 0.5 * erfc;
}

/** Expected improvement below `best` (minimisation) of a Gaussian N(mean, variance). */
export function expectedImprovement(mean: number, variance: number, best: number): number {
  const sigma = Math.sqrt(Math.max(variance, 1e-18));
  const z = (best - mean) / sigma;
  return sigma * (z * normalCdf(z) + normalPdf(z));
}

/** P(Y <= bound) for Y ~ N(mean, variance): a constraint's probability of being satisfied. */
export function probabilityBelow(mean: number, variance: number, bound: number): number {
  return normalCdf((bound - mean) / Math.sqrt(Math.max(variance, 1e-18)));
}
