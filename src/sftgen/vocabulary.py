"""Every text a tiny model may read or write, for building its tokenizer locally.

A from-scratch model can only copy a declared word that its tokenizer knows, so the corpus covers
every template and paraphrase in both response formats and both template families, every split's
prompts, CoT traces, the base-model curriculum, every action word of every variant (held-out ones
included) and the whole diverse word pool; those words are also forced to be single tokens.
Which tasks' texts enter is each task's own choice (``Task.vocabulary``).
"""

from __future__ import annotations

from sftgen.agents import ReferenceAgent
from sftgen.base.curriculum import curriculum_rows
from sftgen.data.build import BuildConfig, iter_rows
from sftgen.prompts import RESPONSE_FORMATS, TEMPLATES
from sftgen.splits import SPLITS
from sftgen.tasks.protocol import BUILTIN_TASKS, VocabularySample, get_task
from sftgen.variants import diverse_word_pool, forbidden_words

PROMPTS_PER_SPLIT = 4
# Response tags as single tokens: an answer costs 5 tokens, not 10, and the format is one step to learn.
TAG_TOKENS = ("<answer>", "</answer>", "<think>", "</think>")


def vocabulary_samples() -> dict[str, VocabularySample]:
    """The built-in tasks whose texts enter the corpus, in registry order, with what each adds.

    Built-in only, so installing a task package never changes the tiny tokenizer: a word-level vocabulary
    renumbers every token when one word is added, so covering a new task changes every tiny model (and the smoke
    recipe's numbers); a task joins (``Task.vocabulary``) deliberately, with its results re-run.
    """
    samples = {name: get_task(name).vocabulary for name in BUILTIN_TASKS}
    return {name: sample for name, sample in samples.items() if sample is not None}


def forced_tokens() -> list[str]:
    """Words that must each be one token: action words, pool words, the tasks' own words (card labels)."""
    words = list(forbidden_words()) + list(diverse_word_pool())
    words += [word for sample in vocabulary_samples().values() for word in sample.words]
    return sorted(set(words))


def tokenizer_corpus() -> list[str]:
    """Prompts and answers across splits, templates and formats, plus samples of every training kind."""
    texts: list[str] = []
    samples = vocabulary_samples()
    oracle = ReferenceAgent("oracle")
    for split in (s for s in SPLITS.values() if s.task in samples):
        for instance in split.with_size(PROMPTS_PER_SPLIT).instances():
            for template in TEMPLATES:
                for response_format in RESPONSE_FORMATS:
                    prompt = instance.make_env(template, response_format).observation()[-1]["content"]
                    texts += [prompt, oracle.answer(prompt)]
    for task, sample in samples.items():
        for kind in ("diverse-cot", "cot"):
            for template in TEMPLATES:
                config = BuildConfig(
                    kind, task, sample.instances, seed=0, template=template, paraphrases=template == "study"
                )
                for row in iter_rows(config, frozenset()):
                    texts += [row["prompt"][-1]["content"], row["completion"][-1]["content"]]
    for row in curriculum_rows(200, 0, forced_tokens(), forced_tokens()):
        texts += [row["prompt"][-1]["content"], row["completion"][-1]["content"]]
    texts += [" ".join(forced_tokens()), " ".join(str(i) for i in range(0, 1001))]
    return texts
