# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %%
# Settings: the only cell to edit. Every knob can also come from the environment.
import os
from pathlib import Path

# Folder (or file, glob, archive) of records; relative paths are read from this notebook's folder.
RECORDS = Path(os.environ.get("EXPLORE_RECORDS", "../../shared/corpus"))
# Fast mode (EXPLORE_FAST=1): 2 folds instead of 5, one importance repeat -- for CI and a first look.
FAST = os.environ.get("EXPLORE_FAST", "0") == "1"
# Folder to also save every chart as a PNG (unset: charts are only shown).
FIGURES = os.environ.get("EXPLORE_FIGURES") or None
KIND = os.environ.get("EXPLORE_KIND", "ridge")  # estimator: see pipeline.model.KINDS
SEED = 0

if not RECORDS.is_absolute():
    RECORDS = (Path.cwd() / RECORDS).resolve()  # Jupyter starts the kernel in the notebook's folder
N_SPLITS = 2 if FAST else 5
IMPORTANCE_REPEATS = 1 if FAST else 3
print(f"records: {RECORDS} | fast: {FAST} | folds: {N_SPLITS} | estimator: {KIND}")

# %% [markdown]
# # Exploring article quality
#
# A tour of the scored records and of the quality model, for a newcomer. Run it top to bottom
# (*Run All*); the first cell says where the records are. It uses only the package's public
# API: `pipeline.frame.load_records` to read, `pipeline.model` to train and evaluate, and
# `pipeline.plots` for every chart -- the same charts `score evaluate --report DIR` writes.
#
# What you will see: the schema and what is missing; how `quality` is distributed; how it
# depends on the provider and on the article's structure; what the `related` entries add;
# how well the model does under each evaluation protocol against two baselines; its worst
# misses; and which inputs it relies on. Under each chart, a short reading of it (written
# from the shared corpus, November 2026 -- check it still holds on your data).
#
# Keep the committed notebook free of outputs: edit `explore.py` (the paired script) or strip
# outputs before committing -- see `notebooks/README.md`.

# %%
import warnings

import pandas as pd
from IPython.display import display

from pipeline import plots
from pipeline.features.provider import provider_keys
from pipeline.frame import load_records
from pipeline.model import PROTOCOLS, evaluate, summary_table, training_rows
from pipeline.report import holdout_importance, largest_errors
from pipeline.schema import COLUMNS, TARGET_SIDE

# %matplotlib inline
pd.set_option("display.max_colwidth", 80)
warnings.filterwarnings("ignore", message="An input array is constant")  # ρ of a constant


def show(figure, name: str):
    """Save the chart to FIGURES (when set) and return it so the notebook displays it."""
    if FIGURES:
        plots.save(figure, Path(FIGURES) / f"{name}.png")
    return figure


# %% [markdown]
# ## 1. The records and their schema
#
# `load_records` reads every record under `RECORDS` into one frame with the schema of
# `pipeline.schema.COLUMNS`; bad files are reported, not fatal. Duplicates (the same article
# URL twice, e.g. a Markdown record and its JSON-feed twin) are *marked*, not dropped.

# %%
loaded = load_records(str(RECORDS))
frame = loaded.frame
print(f"{len(frame):,} records, {len(loaded.errors)} bad inputs skipped")
for error in loaded.errors[:5]:
    print("  ", error)
scored = training_rows(frame)  # scored, non-duplicate main records: what the model learns from
print(f"{len(scored):,} scored and not duplicate; sites: {dict(frame['site'].value_counts())}")

schema = pd.DataFrame(
    {
        "dtype": pd.Series(COLUMNS),
        "non-missing": frame.notna().sum(),
        "missing %": (100 * frame.isna().mean()).round(1),
        "target side (never a feature)": [c in TARGET_SIDE for c in COLUMNS],
    }
)
schema

# %%
show(plots.missing_values(frame), "missing_values")

# %% [markdown]
# **Reading.** Identity, text, time, provider and link columns are always there. The gaps are
# structural, not errors: `parent_id` is set only for related-entry rows (none here),
# `amp_url`/`cdn_amp_url` exist only for articles with an AMP page (about a quarter), `locale`
# is often absent. `quality`, `heat` and `published` are missing for the JSON-feed pages,
# which carry no score -- those rows are used for nothing but duplicate detection.

# %% [markdown]
# ## 2. The target: `quality`

# %%
display(scored["quality"].describe().to_frame().T)
show(plots.quality_distribution(scored["quality"]), "quality_distribution")

# %% [markdown]
# **Reading.** Quality is not a smooth score: most records sit on a few values (87 above all,
# then 107, 67, 127, 147), 20 points apart -- the mark of an additive rule (a provider tier
# plus fixed bonuses) rather than of human ratings. Mean and median are close to 90-100 on a
# scale of 11-189. A model that learns the rule's terms can be very precise; one that does not
# will be off by multiples of 20.

# %% [markdown]
# ## 3. Quality by provider

# %%
providers = provider_keys(scored)
counts = providers.value_counts()
print(
    f"{counts.size} providers; {int((counts == 1).sum())} with a single scored record; "
    f"top 5 hold {counts.head(5).sum() / counts.sum():.0%} of the records"
)
show(plots.quality_by_provider(providers, scored["quality"], top=15), "quality_by_provider")

# %% [markdown]
# **Reading.** Providers differ by tiers, and within a provider the spread is narrow: most
# boxes are a few points wide around their provider's level, with outliers 20 points away
# (an article without an image, or with an AMP page). The provider is the first thing to know
# about an article. The long tail matters too: many providers have only a handful of records,
# so their level has to be estimated from little data (or borrowed, see section 5).

# %% [markdown]
# ## 4. Quality by structure: image, AMP page, type

# %%
show(plots.quality_by_structure(scored), "quality_by_structure")

# %% [markdown]
# **Reading.** Articles with an image score higher than those without, and articles with an
# AMP page higher than those without; videos and articles differ (YouTube sits on its own
# tier). These are raw means: they mix the structure bonus with *which providers* tend to
# have images or AMP pages, which is why the model learns them jointly with the provider.

# %% [markdown]
# ## 5. Related entries: more providers, more observations?
#
# Each record may list `related` articles, many of them scored. Loaded with
# `expand_related=True`, each scored related entry becomes a row of its own (`is_related`,
# with its parent's id). They could tell the model about providers the main records never
# show, and add observations for rare ones -- unless they are the same articles again.

# %%
expanded = load_records(str(RECORDS), expand_related=True).frame
related = expanded.loc[
    expanded["is_related"].fillna(False)
    & expanded["quality"].notna()
    & ~expanded["is_duplicate"].fillna(False)
]
main_urls = set(expanded.loc[~expanded["is_related"].fillna(False), "url_key"].dropna())
related_is_main = related["url_key"].isin(main_urls)  # the same article as a main record
main_providers, related_providers = provider_keys(scored), provider_keys(related)
only_related = sorted(set(related_providers) - set(main_providers))
print(
    f"{len(related):,} distinct scored related entries, {int(related_is_main.sum()):,} of them "
    f"main records too; {len(set(related_providers)):,} providers among them, "
    f"{len(only_related)} seen only there: {only_related[:10]}"
)
show(
    plots.provider_coverage(main_providers, related_providers, related_is_main, top=15),
    "provider_coverage",
)

# %% [markdown]
# **Reading.** On the shared corpus the related entries bring **no new provider** (left: every
# provider they mention also has main records; 39 providers appear only in main records).
# And most of them are **not new articles** (middle): about three in four are copies of a
# main record, with the same quality; the new articles come from a couple of providers (right,
# green). So related entries add little information here -- but they are a leak: a test
# article's score can come back through another record's related list, which is why
# `evaluate` keeps test records' lists out of training and offers `strict_related=True`. On
# other folders the left panel may show related-only providers, where they help most.

# %% [markdown]
# ## 6. How good is the model? Each protocol, against the baselines
#
# `pipeline.model.evaluate` refits the whole model (features included) inside each fold and
# scores the held-out records beside two baselines: the training mean, and the training mean
# of the record's provider. The protocols ask different questions:
#
# * `random` -- records the model has not seen (grouped by URL), k-fold;
# * `time` -- train on the older 80 %, test on the newest 20 %: closest to scoring tomorrow;
# * `provider` -- providers the model has never seen;
# * `site` -- a whole folder left out (needs two sites or more; skipped otherwise).

# %%
n_sites = scored["site"].nunique()
n_providers = provider_keys(scored).nunique()
results = {}
for protocol in PROTOCOLS:
    if protocol == "site" and n_sites < 2:
        print(f"skip {protocol}: needs at least two sites, the records have {n_sites}")
        continue
    if protocol == "provider" and n_providers < 2:
        print(f"skip {protocol}: needs at least two providers, the records have {n_providers}")
        continue
    try:
        results[protocol] = evaluate(frame, protocol, seed=SEED, kind=KIND, n_splits=N_SPLITS)
    except ValueError as exc:  # too few records for this protocol's folds: say so, go on
        print(f"skip {protocol}: {exc}")
table = summary_table(results)
table.set_index(["protocol", "estimator"]).round(3)

# %%
show(plots.metrics_by_protocol(table), "metrics_by_protocol")

# %% [markdown]
# **Reading.** Under `random` and `time` the model's error is a small fraction of the
# provider-mean baseline's (around 2-3 points against 5-8): it has learned the structure
# bonuses on top of the provider level. On *unseen providers* (`provider`) the provider-mean
# baseline collapses to the global mean while the model stays far better -- the prior learned
# from related entries and the structure terms carry over. Leaving a whole *site* out is the
# hard case: trained on one topic folder, the model is worse than either baseline on the
# other, so do not trust it on a new site without scored records from it.

# %%
show(
    plots.predicted_vs_actual({name: r.predictions for name, r in results.items()}),
    "predicted_vs_actual",
)

# %% [markdown]
# **Reading.** For `random` and `time` the points hug the diagonal and nearly all fall in the
# ±10 band; the vertical stripes are the rule's discrete levels (87, 107, ...). The misses
# that remain are mostly whole steps of ~20 points: a bonus the model did not infer. Under
# `site` the cloud sits below the diagonal: a level shift, not noise.

# %% [markdown]
# ## 7. The largest errors, with their records

# %%
reference = "random" if "random" in results else next(iter(results))
worst = largest_errors(results[reference].predictions, frame, n=10)
worst[["y", "pred", "error", "provider", "type", "image_count", "amp_url", "title", "source"]]

# %%
show(
    plots.error_by_provider(results[reference].predictions, top=15, title=f"Error by provider ({reference})"),
    "error_by_provider",
)

# %% [markdown]
# **Reading.** The worst misses are single records whose quality is far from their
# provider's usual level (one-off penalties or bonuses the inputs do not reveal), and records
# of providers with few examples. Per provider, the model beats the provider-mean baseline
# for the big ones (msn.com, gamespot.com, yahoo.com...) where structure varies; for a few
# small providers with a single fixed level the plain provider mean is already exact. Look at
# the counts before reading a bar: n=6 is an anecdote.

# %% [markdown]
# ## 8. What the model relies on
#
# Permutation importance on held-out records: fit on the older 80 %, then shuffle one group
# of input columns at a time in the newest 20 % and see how much the MAE grows.

# %%
importance = holdout_importance(frame, kind=KIND, seed=SEED, n_repeats=IMPORTANCE_REPEATS)
display(importance)
show(plots.feature_importance(importance), "feature_importance")

# %% [markdown]
# **Reading.** The provider carries most of the accuracy (shuffling it costs ~13 points of
# MAE), then the AMP links, the type (article vs video) and the URLs (whether the article
# lives on its provider's domain), then the title's form, topics and images. Time, excerpt
# and the related list are worth nothing on their own once the provider prior has absorbed
# what related entries say -- consistent with an additive rule on provider and structure.
