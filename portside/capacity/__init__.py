"""Capacity planning: usage traces (or live metrics) in; right-sizing, demand forecasts and node plans out.

``trace`` reads the CSV format; ``histogram`` recommends requests and limits; ``forecast`` predicts hourly demand
with daily and weekly seasonality; ``plan`` asks the real scheduler (in simulation) how many nodes the demand
needs; ``analysis`` ties them together and ``report`` formats the answers as a table, JSON or an HTML page.
Nothing here opens the store: usage comes from a ``source.UsageSource``. Submodules import pandas and
statsmodels lazily (the ``capacity`` extra), so importing this package costs nothing.
"""
