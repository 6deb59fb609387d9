"""Demand forecasts: hourly usage per workload with daily and weekly seasonality, prediction intervals, and the
seasonal-naive baseline reported beside every forecast.

Model. Usage is aggregated to hourly means (5-minute samples add noise, not signal, to a week-ahead forecast;
the 5-minute spread comes back through ``demand_quantile``, which carries recent samples forward along the
fitted trend). Each workload's log-usage is regressed on a linear
trend and Fourier terms of the week (order 28, which holds the daily cycle's first four harmonics at 7, 14, 21
and 28 cycles a week, and the weekday/weekend modulation around them), built with statsmodels' deterministic
terms (``DeterministicProcess``, ``Fourier``). The log makes growth multiplicative: a workload 10 % busier has a
10 % taller daily peak. With less than two weeks of history the weekly terms are dropped for the daily cycle
alone (Fourier order 4 over 24 h). With less than two days there is no cycle to fit, and no trend worth
extending a week (``seasonality`` says which, and why, for the output): ``flat`` forecasts each series at the
mean of its fine-grained samples, with their spread as the bands.

Why this and not MSTL + ETS (statsmodels) or statsforecast's AutoETS: every workload shares one design matrix,
so 1,000 workloads are fitted by one least-squares solve in well under a second; statsmodels' MSTL + ETS costs
0.1-0.6 s per series on a two-core machine (minutes for 1,000 workloads), and statsforecast brings numba, whose
compilation on first use takes longer than the whole plan may. The model is the "dynamic harmonic regression"
that MSTL's own documentation names as the alternative for several seasonal periods.

Intervals: the regression's prediction variance in log space, sigma^2 * (1 + x'(X'X)^-1 x), which widens with
the horizon as the trend's uncertainty grows; 80 % and 95 % bands.

Baseline: seasonal naive, the same hour of the last week (which repeats both cycles). MASE scales the mean
absolute error by the in-sample mean absolute error of the weekly seasonal-naive forecast, so MASE < 1 means
better than that baseline's typical one-week-ahead error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portside.capacity.trace import Trace

__all__ = ["HOUR", "MODELS", "WEEK_H", "Forecast", "Hourly", "Seasonality", "demand_quantile", "fit", "fit_mstl_ets",
           "flat", "hourly", "mase", "seasonal_naive", "seasonality", "summed"]

HOUR = 3600.0
WEEK_H = 168
DAY_H = 24
_Z80, _Z95 = 1.2816, 1.9600


@dataclass(frozen=True)
class Seasonality:
    """Which cycles a history of ``history_h`` hours can show, and the sentence that says so in the output."""

    model: str  # "weekly" (and daily), "daily", or "none"
    history_h: float
    note: str


def _span(hours: float) -> str:
    if hours >= 2 * DAY_H:
        return f"{hours / DAY_H:.1f} days"
    return f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.0f} min"


def seasonality(history_h: float) -> Seasonality:
    """A cycle is fitted only when the history holds it twice: two weeks for the weekly one, two days for the
    daily one."""
    span = _span(history_h)
    if history_h >= 2 * WEEK_H:
        return Seasonality("weekly", history_h, f"weekly and daily seasonality, from {span} of history")
    if history_h >= 2 * DAY_H:
        return Seasonality("daily", history_h, f"daily seasonality only: {span} of history is shorter than the "
                                               f"two weeks a weekly cycle needs")
    return Seasonality("none", history_h, f"no seasonality: {span} of history is shorter than the two days a daily "
                                          f"cycle needs, so the forecast is flat at the history's mean, with the "
                                          f"spread of its samples as the bands, and no trend")


@dataclass
class Hourly:
    """Hourly means: ``values[w, h]`` for workload ``names[w]`` in hour ``start + h*3600``."""

    names: list[str]
    start: float
    cpu: np.ndarray
    memory: np.ndarray


@dataclass
class Forecast:
    """Point forecasts and bands (``[w, h]``, hours after the history), the in-sample fit, and the baseline, for
    one resource."""

    point: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray
    fitted: np.ndarray
    naive: np.ndarray
    slope: np.ndarray  # per workload: the trend's growth in log-usage per hour


def _fill(row: np.ndarray) -> np.ndarray:
    """Carry values across hours without samples (a gap in the export), first value backwards."""
    ok = ~np.isnan(row)
    if ok.all() or not ok.any():
        return np.nan_to_num(row)
    idx = np.where(ok, np.arange(len(row)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = row[idx]
    out[: np.argmax(ok)] = row[np.argmax(ok)]
    return out


def hourly(trace: Trace, start: float | None = None, end: float | None = None) -> Hourly:
    start = np.floor((trace.start if start is None else start) / HOUR) * HOUR
    end = trace.end if end is None else end
    hours = max(1, int(np.ceil((end - start) / HOUR)))
    names = sorted(trace.workloads)
    out = {"cpu": np.full((len(names), hours), np.nan), "memory": np.full((len(names), hours), np.nan)}
    for w, name in enumerate(names):
        s = trace.workloads[name]
        keep = (s.t >= start) & (s.t < end)
        idx = ((s.t[keep] - start) // HOUR).astype(int)
        count = np.bincount(idx, minlength=hours)
        for res in ("cpu", "memory"):
            total = np.bincount(idx, weights=getattr(s, res)[keep], minlength=hours)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[res][w] = _fill(np.where(count > 0, total / np.maximum(count, 1), np.nan))
    return Hourly(names, float(start), out["cpu"], out["memory"])


def _design(hours: np.ndarray, history_h: int) -> np.ndarray:
    import pandas as pd
    from statsmodels.tsa.deterministic import DeterministicProcess, Fourier

    if history_h >= 2 * WEEK_H:
        terms = [Fourier(period=WEEK_H, order=28)]
    else:
        terms = [Fourier(period=DAY_H, order=4)]
    process = DeterministicProcess(pd.RangeIndex(history_h), constant=True, order=1, additional_terms=terms)
    if hours[0] >= history_h:
        frame = process.out_of_sample(len(hours), forecast_index=pd.RangeIndex(history_h, history_h + len(hours)))
    else:
        frame = process.in_sample()
    return frame.to_numpy(dtype=float), list(frame.columns).index("trend")


def _floor(y: np.ndarray) -> np.ndarray:
    """Each series' offset for the log: 1 % of its mean, so idle hours (0) stay finite."""
    return np.maximum(0.01 * y.mean(axis=1, keepdims=True), 1e-9)


def fit(y: np.ndarray, horizon_h: int) -> Forecast:
    """Forecast every row of ``y`` (workloads x hours) ``horizon_h`` hours ahead."""
    n = y.shape[1]
    x, trend = _design(np.arange(n), n)
    xf, _ = _design(np.arange(n, n + horizon_h), n)
    eps = _floor(y)
    z = np.log(y + eps)
    beta, *_ = np.linalg.lstsq(x, z.T, rcond=None)
    fitted_z = (x @ beta).T
    dof = max(n - x.shape[1], 1)
    sigma = np.sqrt(((z - fitted_z) ** 2).sum(axis=1, keepdims=True) / dof)
    inv = np.linalg.pinv(x.T @ x)
    spread = np.sqrt(1 + np.einsum("hi,ij,hj->h", xf, inv, xf))[None, :] * sigma
    centre = (xf @ beta).T

    def back(v: np.ndarray) -> np.ndarray:
        return np.maximum(np.exp(v) - eps, 0.0)

    return Forecast(point=back(centre), lo80=back(centre - _Z80 * spread), hi80=back(centre + _Z80 * spread),
                    lo95=back(centre - _Z95 * spread), hi95=back(centre + _Z95 * spread), fitted=back(fitted_z),
                    naive=seasonal_naive(y, horizon_h), slope=beta[trend].copy())


def flat(samples: list[np.ndarray], y: np.ndarray, horizon_h: int) -> Forecast:
    """For a history too short for any cycle: each row (``samples[w]``, its fine-grained values; ``y``, its
    hourly means) forecast at its mean, the 80 % and 95 % bands the central 80 % and 95 % of its samples, no
    trend (a slope fitted to hours of history is no guide to next week)."""
    stats = np.array([[v.mean(), *np.quantile(v, [0.025, 0.1, 0.9, 0.975])] if len(v) else [0.0] * 5
                      for v in samples]).reshape(len(samples), 5)

    def ahead(column: int, hours: int = horizon_h) -> np.ndarray:
        return np.repeat(stats[:, column:column + 1], hours, axis=1)

    return Forecast(point=ahead(0), lo80=ahead(2), hi80=ahead(3), lo95=ahead(1), hi95=ahead(4),
                    fitted=ahead(0, y.shape[1]), naive=seasonal_naive(y, horizon_h), slope=np.zeros(len(samples)))


def summed(f: Forecast) -> Forecast:
    """One row, the sum of ``f``'s rows (bands summed too: wider than the sum's own, on the safe side)."""
    total = {k: getattr(f, k).sum(axis=0, keepdims=True) for k in ("point", "lo80", "hi80", "lo95", "hi95",
                                                                   "fitted", "naive")}
    return Forecast(**total, slope=np.zeros(1))


def seasonal_naive(y: np.ndarray, horizon_h: int) -> np.ndarray:
    """The last week repeated (the last day where history is shorter than a week)."""
    m = WEEK_H if y.shape[1] >= WEEK_H else min(DAY_H, y.shape[1])
    reps = int(np.ceil(horizon_h / m))
    return np.tile(y[:, -m:], reps)[:, :horizon_h]


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Per row: MAE of ``forecast`` over the in-sample MAE of the weekly (daily when short) seasonal naive."""
    m = WEEK_H if train.shape[1] > WEEK_H else DAY_H
    scale = np.abs(train[:, m:] - train[:, :-m]).mean(axis=1)
    return np.abs(actual - forecast).mean(axis=1) / np.maximum(scale, 1e-12)


def demand_quantile(slope: np.ndarray, forecast_start: float, horizon_h: int,
                    samples: list[tuple[np.ndarray, np.ndarray]], p: float, weeks: int = 2,
                    z: float = 1.28) -> np.ndarray:
    """Per workload, the ``p`` quantile of fine-grained (e.g. 5-minute) demand over the horizon.

    The last ``weeks`` weeks of samples are carried forward by whole weeks into the horizon (so each lands on the
    same hour of the same weekday) and grown by the fitted trend over the distance moved; the quantile is read
    from what lands inside the horizon. Reusing observed samples keeps their spread, bursts and the sharpness of
    daily peaks, which a smooth fit rounds off; the trend supplies the growth a seasonal-naive copy would miss.
    The quantile read is the one-sided upper confidence bound (``z`` = 1.28: 90 %) of the ``p`` quantile over
    that many samples, ``p + z * sqrt(p(1-p)/n)``: a plan must not fall short because the history's p99 happened
    to sit low, and at two weeks of 5-minute samples the bound is p99.2.
    """
    week_s = WEEK_H * HOUR
    end = forecast_start + horizon_h * HOUR
    out = np.zeros(len(samples))
    for w, (t, values) in enumerate(samples):
        keep = t >= forecast_start - weeks * week_s
        t, values = t[keep], values[keep]
        shift = np.ceil((forecast_start - t) / week_s)  # whole weeks that bring the sample into the horizon
        moved = t + shift * week_s
        inside = moved < end
        if not inside.any():
            inside = np.ones(len(t), dtype=bool)
        grown = values[inside] * np.exp(slope[w] * (moved[inside] - t[inside]) / HOUR)
        level = min(p + z * np.sqrt(p * (1 - p) / max(len(grown), 1)), 1.0)
        out[w] = np.quantile(grown, level) if len(grown) else 0.0
    return out


def _tile_last(component: np.ndarray, period: int, horizon_h: int) -> np.ndarray:
    return np.tile(component[-period:], int(np.ceil(horizon_h / period)))[:horizon_h]


def _mstl_ets_row(z: np.ndarray, horizon_h: int) -> tuple[np.ndarray, ...]:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.seasonal import MSTL

    periods = (DAY_H, WEEK_H) if len(z) >= 2 * WEEK_H else (DAY_H,)
    result = MSTL(z, periods=periods).fit()
    seasonal = np.asarray(result.seasonal).reshape(len(z), -1)
    periods = periods[: seasonal.shape[1]]  # MSTL drops a period the history cannot show twice over
    adjusted = z - seasonal.sum(axis=1)
    import pandas as pd

    # a Series, not an array: ETS prediction results read the index of what they were given
    ets = ETSModel(pd.Series(adjusted), error="add", trend="add", damped_trend=True).fit(disp=False)
    frame = ets.get_prediction(start=len(z), end=len(z) + horizon_h - 1)
    ahead = sum(_tile_last(seasonal[:, k], p, horizon_h) for k, p in enumerate(periods))
    bands = [np.asarray(frame.pred_int(alpha=a)) for a in (0.2, 0.05)]
    slope = float(np.polyfit(np.arange(len(z)), adjusted, 1)[0])
    return (np.asarray(frame.predicted_mean) + ahead, bands[0][:, 0] + ahead, bands[0][:, 1] + ahead,
            bands[1][:, 0] + ahead, bands[1][:, 1] + ahead, np.asarray(ets.fittedvalues) + seasonal.sum(axis=1),
            slope)


def fit_mstl_ets(y: np.ndarray, horizon_h: int) -> Forecast:
    """The same forecast from statsmodels' MSTL (daily and weekly seasonal components) and a damped-trend ETS
    on the seasonally adjusted log-usage, one series at a time: 0.1-0.6 s a series, so for a few series (the
    cluster's total, a namespace) rather than a thousand. ``portside capacity forecast --model mstl-ets`` picks
    it. On the synthetic traces of the tests (21 days of history, the next 7 held out) it scores a MASE near 1.1
    where the harmonic model scores 0.7, and its 95 % band holds about 70 % of the held-out hours: the seasonal
    components repeat the last period's noise, which the regression averages over every week."""
    eps = _floor(y)
    z = np.log(y + eps)
    rows = [_mstl_ets_row(row, horizon_h) for row in z]
    parts = [np.vstack([r[k] for r in rows]) for k in range(6)]

    def back(v: np.ndarray) -> np.ndarray:
        return np.maximum(np.exp(v) - eps, 0.0)

    return Forecast(point=back(parts[0]), lo80=back(parts[1]), hi80=back(parts[2]), lo95=back(parts[3]),
                    hi95=back(parts[4]), fitted=back(parts[5]), naive=seasonal_naive(y, horizon_h),
                    slope=np.array([r[6] for r in rows]))


MODELS = {"harmonic": fit, "mstl-ets": fit_mstl_ets}
