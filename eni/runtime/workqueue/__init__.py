"""Work queues with client-go semantics: dedup, in-flight tracking, delays, rate limits."""
