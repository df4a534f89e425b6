"""The one registry of capabilities: name → train function and service class, in load order.

Both the training pipeline (:func:`shopmind.pipeline.train_all`) and the serving engine
(:class:`shopmind.engine.Engine`) read :data:`CAPABILITIES`; nothing else lists the capabilities.
The order matters: a service may use the services loaded before it (search receives recommend,
the assistant receives search and recommend; see :class:`~shopmind.capability.CapabilityService`).

This module sits above the four capability packages and below the engine, the API and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from shopmind.assistant import service as assistant
from shopmind.capability import CapabilityService, TrainFunction
from shopmind.forecast import service as forecast
from shopmind.recommend import service as recommend
from shopmind.search import service as search

RecommendService = recommend.RecommendService
SearchService = search.SearchService
AssistantService = assistant.AssistantService
ForecastService = forecast.ForecastService


@dataclass(frozen=True)
class Capability:
    """One capability: what ``shopmind train`` runs and what serving loads from ``<run>/<name>``."""

    name: str
    train: TrainFunction
    service: type[CapabilityService]


class Services(TypedDict, total=False):
    """The services loaded from one run, typed per capability (a missing key: not available)."""

    recommend: RecommendService
    search: SearchService
    assistant: AssistantService
    forecast: ForecastService


CAPABILITIES: dict[str, Capability] = {
    cap.name: cap
    for cap in (
        Capability(recommend.NAME, recommend.train, RecommendService),
        Capability(search.NAME, search.train, SearchService),
        Capability(assistant.NAME, assistant.train, AssistantService),
        Capability(forecast.NAME, forecast.train, ForecastService),
    )
}
"""Capability name → :class:`Capability`, in training and load order."""

__all__ = [
    "CAPABILITIES",
    "AssistantService",
    "Capability",
    "ForecastService",
    "RecommendService",
    "SearchService",
    "Services",
]
