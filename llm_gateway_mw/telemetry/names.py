"""Every OpenTelemetry name the gateway emits: attributes, metrics, units, buckets, span names.

GenAI names follow the released semantic conventions v1.41. The conventions are moving to
``open-telemetry/semantic-conventions-genai`` and may still rename things: this is the one
module to edit when they do. The gateway's own decisions live under ``llm_gateway.*``,
never inside ``gen_ai.*``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BUDGET_REMAINING_USD",
    "CACHE_HIT",
    "CALLER_KEY",
    "CALLER_TENANT",
    "CALLER_USER",
    "CAPTURE_CONTENT_ENV",
    "CONTENT_EVENT_NAME",
    "COST_USD",
    "DECISION_REASON",
    "DEPLOYMENT",
    "DURATION_BUCKETS",
    "ERROR_TYPE",
    "ERROR_TYPE_OTHER",
    "FALLBACK_FROM",
    "GATEWAY_ATTEMPT",
    "GATEWAY_PROVIDER",
    "GATEWAY_SPAN_NAME",
    "HTTP_REQUEST_RESEND_COUNT",
    "HTTP_ROUTE",
    "INFERENCE_SPAN_NAME",
    "INPUT_MESSAGES",
    "INSTRUMENTATION_NAME",
    "METRIC_CACHE_HITS",
    "METRIC_COST",
    "METRIC_FALLBACKS",
    "METRIC_OPERATION_DURATION",
    "METRIC_REJECTIONS",
    "METRIC_TIME_TO_FIRST_CHUNK",
    "METRIC_TOKEN_USAGE",
    "OPERATION_NAME",
    "OUTPUT_MESSAGES",
    "PROVIDER_NAME",
    "PROVIDER_NAMES",
    "RATE_LIMIT_REMAINING",
    "REJECTION_EVENT_NAME",
    "REJECTION_REASON",
    "REQUESTED_MODEL",
    "REQUEST_CHOICE_COUNT",
    "REQUEST_FREQUENCY_PENALTY",
    "REQUEST_ID",
    "REQUEST_MAX_TOKENS",
    "REQUEST_MODEL",
    "REQUEST_PRESENCE_PENALTY",
    "REQUEST_SEED",
    "REQUEST_STOP_SEQUENCES",
    "REQUEST_STREAM",
    "REQUEST_TEMPERATURE",
    "REQUEST_TOP_K",
    "REQUEST_TOP_P",
    "RESPONSE_FINISH_REASONS",
    "RESPONSE_ID",
    "RESPONSE_MODEL",
    "RESPONSE_TIME_TO_FIRST_CHUNK",
    "ROUTE",
    "SCHEMA_URL",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "STORAGE_DEGRADED",
    "STRATEGY",
    "SYSTEM_INSTRUCTIONS",
    "TOKEN_BUCKETS",
    "TOKEN_TYPE",
    "TOKEN_TYPE_INPUT",
    "TOKEN_TYPE_OUTPUT",
    "TOOL_DEFINITIONS",
    "UNIT_COST",
    "UNIT_FALLBACKS",
    "UNIT_HITS",
    "UNIT_REJECTIONS",
    "UNIT_SECONDS",
    "UNIT_TOKENS",
    "USAGE_CACHE_CREATION_INPUT_TOKENS",
    "USAGE_CACHE_READ_INPUT_TOKENS",
    "USAGE_INPUT_TOKENS",
    "USAGE_OUTPUT_TOKENS",
    "USAGE_REASONING_OUTPUT_TOKENS",
]

INSTRUMENTATION_NAME: Final = "llm_gateway_mw"
SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.41.0"

# --- span names -------------------------------------------------------------------------
# The gateway span is INTERNAL: one per logical call, e.g. "gateway gpt-4o". It does not
# use "{operation} {model}" so GenAI-aware backends do not take it for an inference span.
GATEWAY_SPAN_NAME: Final = "gateway {model}"
# One CLIENT inference span per physical attempt, e.g. "chat gpt-4o-2024-08-06".
INFERENCE_SPAN_NAME: Final = "{operation} {model}"

# --- gen_ai.* (v1.41) -------------------------------------------------------------------
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_TOP_K: Final = "gen_ai.request.top_k"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
REQUEST_STREAM: Final = "gen_ai.request.stream"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
TOKEN_TYPE: Final = "gen_ai.token.type"
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"
# The v1.41 event carrying content when capture is set to "event".
CONTENT_EVENT_NAME: Final = "gen_ai.client.inference.operation.details"

# --- general semantic conventions ------------------------------------------------------
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
ERROR_TYPE_OTHER: Final = "_OTHER"
HTTP_REQUEST_RESEND_COUNT: Final = "http.request.resend_count"
HTTP_ROUTE: Final = "http.route"

# --- the gateway's own namespace -------------------------------------------------------
REQUEST_ID: Final = "llm_gateway.request_id"
REQUESTED_MODEL: Final = "llm_gateway.requested_model"
ROUTE: Final = "llm_gateway.route"
STRATEGY: Final = "llm_gateway.strategy"
DECISION_REASON: Final = "llm_gateway.decision.reason"
DEPLOYMENT: Final = "llm_gateway.deployment"
GATEWAY_PROVIDER: Final = "llm_gateway.provider"
GATEWAY_ATTEMPT: Final = "llm_gateway.attempt"
FALLBACK_FROM: Final = "llm_gateway.fallback.from"
CACHE_HIT: Final = "llm_gateway.cache.hit"
COST_USD: Final = "llm_gateway.cost.usd"
RATE_LIMIT_REMAINING: Final = "llm_gateway.rate_limit.remaining"
BUDGET_REMAINING_USD: Final = "llm_gateway.budget.remaining_usd"
CALLER_USER: Final = "llm_gateway.caller.user"
CALLER_TENANT: Final = "llm_gateway.caller.tenant"
CALLER_KEY: Final = "llm_gateway.caller.key"
STORAGE_DEGRADED: Final = "llm_gateway.storage.degraded"
REJECTION_REASON: Final = "llm_gateway.rejection.reason"
REJECTION_EVENT_NAME: Final = "llm_gateway.rejection"

# --- metrics ---------------------------------------------------------------------------
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_COST: Final = "llm_gateway.cost"
METRIC_REJECTIONS: Final = "llm_gateway.rejections"
METRIC_FALLBACKS: Final = "llm_gateway.fallbacks"
METRIC_CACHE_HITS: Final = "llm_gateway.cache.hits"

UNIT_TOKENS: Final = "{token}"
UNIT_SECONDS: Final = "s"
# Currency is not a UCUM unit; like "{token}", the curly-brace annotation is the UCUM way
# to name a dimensionless quantity, so strict validators accept it. Prometheus exporters
# drop annotations (the series is `llm_gateway_cost_total`); the description says USD.
UNIT_COST: Final = "{USD}"
UNIT_REJECTIONS: Final = "{rejection}"
UNIT_FALLBACKS: Final = "{fallback}"
UNIT_HITS: Final = "{hit}"

TOKEN_BUCKETS: Final[tuple[float, ...]] = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

# --- configuration ---------------------------------------------------------------------
CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

# Provider kinds the gateway knows, mapped to well-known gen_ai.provider.name values;
# anything else is emitted as given.
PROVIDER_NAMES: Final[dict[str, str]] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "vertex": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "cohere": "cohere",
    "perplexity": "perplexity",
}
