"""Statistics on counts: pure functions, no data frames, no I/O.

Everything here works on participant counts and population shares that the
audit has already aggregated, so each function is cheap whatever the size of
the register. The module deliberately depends on the standard library only:
the tests compare every function with an independent implementation (scipy and
statsmodels, test-only dependencies) and with published values from R.

Notation used in the docstrings:

* ``n``: participants with a known answer to the question;
* ``x``: how many of them are in the group;
* ``p̂ = x / n``: the participant share;
* ``π``: the population share from the census for the same group and base.

The package is split by distribution and purpose; every function is re-exported
here, so callers write ``stats.binomial_test(...)``. The exception is
``stats.weighting`` (raking weights and their diagnostics): it works on one weight per
participant, vectorised with numpy, so it is imported on its own, by ``weights`` only,
and importing ``stats`` does not load numpy.

Imports: nothing of the package, and only the standard library (numpy, lazily, in
``pooling`` for the convolution of several events), so that the tests' scipy,
statsmodels and mpmath checks are independent of it.
"""

from __future__ import annotations

from inclusion_audit.stats.binomial import (
    binomial_cdf,
    binomial_pmf,
    binomial_sf,
    binomial_test,
    binomial_test_central,
    clopper_pearson_interval,
)
from inclusion_audit.stats.corrections import adjust_p_values
from inclusion_audit.stats.measures import (
    base_share_bounds,
    chi_square_goodness_of_fit,
    chi_square_sf,
    dissimilarity_index,
    representation_ratio,
    shortfall,
)
from inclusion_audit.stats.poisson import (
    poisson_cdf,
    poisson_interval,
    poisson_pmf,
    poisson_sf,
    poisson_test,
)
from inclusion_audit.stats.pooling import (
    collapse,
    convolution_cost,
    discounted_confidence,
    discounted_p,
    dispersion,
    pooled_interval,
    pooled_tails,
    pooled_test,
    saddlepoint_tails,
    sum_of_binomials,
)
from inclusion_audit.stats.special import betainc, gammainc, gammaincc, wilson_interval, z_value

__all__ = [
    "adjust_p_values",
    "base_share_bounds",
    "betainc",
    "binomial_cdf",
    "binomial_pmf",
    "binomial_sf",
    "binomial_test",
    "binomial_test_central",
    "chi_square_goodness_of_fit",
    "chi_square_sf",
    "clopper_pearson_interval",
    "collapse",
    "convolution_cost",
    "discounted_confidence",
    "discounted_p",
    "dispersion",
    "dissimilarity_index",
    "gammainc",
    "gammaincc",
    "poisson_cdf",
    "poisson_interval",
    "poisson_pmf",
    "poisson_sf",
    "poisson_test",
    "pooled_interval",
    "pooled_tails",
    "pooled_test",
    "representation_ratio",
    "saddlepoint_tails",
    "shortfall",
    "sum_of_binomials",
    "wilson_interval",
    "z_value",
]
