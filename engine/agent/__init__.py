"""The agent: Gemini runs over the tool registry, recorded in the state database.

`store` owns the SQL (threads, messages, runs, usage; migration 0006), `pricing` turns usage
metadata into a cost, `provider` talks to Gemini through google-genai (streaming, retries,
clear configuration errors) and `run` is the loop a run job executes.
"""
