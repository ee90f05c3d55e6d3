"""Long-lived resources, created once per server process with st.cache_resource.

They are shared by every session and never mutated. Session state holds only ids and
strings; anything heavier is looked up here on each run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from core.ses.gateway import SesGateway
from core.settings import Settings, load_settings
from core.store.db import make_engine
from ui.demo import DemoEnvironment, DemoStartup, start_demo

if TYPE_CHECKING:  # types only: the page layer never talks to the database itself
    from sqlalchemy import Engine


@st.cache_resource(show_spinner=False)
def startup() -> DemoStartup:
    """Settings validated once, and the demo begun (in the background) when no AWS
    configuration exists: pages draw from the database at once while it fills."""
    return start_demo(load_settings())


def environment() -> DemoEnvironment:
    """Where AWS is (the demo's emulator once it listens: this waits for it)."""
    return startup().environment()


def settings() -> Settings:
    return startup().settings


@st.cache_resource(show_spinner=False)
def configuration() -> Settings:
    """The settings as configured, read without starting the demo: what the router needs
    before the environment is ready (the language and time zone of the first screen)."""
    return load_settings()


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    return _engine(settings().database_url)


def database_key() -> str:
    """What cached queries are keyed on, so two databases never share a cache entry; while
    the demo seeds, each finished step is a new key, so pages show the data as it arrives."""
    start = startup()
    if start.seeding:
        return f"{settings().database_url}#demo-step-{start.generation}"
    return settings().database_url


# The AWS resources are keyed on where they point, and built from the environment (the
# demo's emulator, explicitly; otherwise the standard AWS chain), never from os.environ edits.
@st.cache_resource(show_spinner=False)
def _gateway(endpoint: str | None, region: str | None) -> SesGateway:
    return environment().gateway()


def gateway() -> SesGateway:
    """The SES gateway; raises AwsConfigurationError (shown by the page) when AWS is not set up."""
    env = environment()
    return _gateway(env.endpoint_url, env.region or settings().aws_region)


def queue_url_default() -> str:
    """The configured queue (BOUNCEDESK_SQS_QUEUE_URL), else the demo's, else empty."""
    env = environment()
    return env.settings.sqs_queue_url or env.queue_url or ""


@st.cache_resource(show_spinner=False)
def _sqs_client(endpoint: str | None, region: str | None) -> Any:
    return environment().client("sqs")


def sqs_client() -> Any:
    """The SQS client the "Poll SQS now" button uses; AwsConfigurationError without AWS."""
    env = environment()
    return _sqs_client(env.endpoint_url, env.region or settings().aws_region)
