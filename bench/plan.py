"""How big each phase is: the full run and the --quick one."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Plan:
    repeats: int
    # approvals per throughput run, by number of concurrent clients
    throughput: dict[int, int] = field(default_factory=dict)
    moderate_rate: float = 50.0  # approvals/s, open loop
    latency_seconds: float = 8.0  # per latency run
    saturation_share: float = 0.9  # of the best sustained fan-out throughput
    saturation_guess: float = 30.0  # approvals/s, to size the payments made first
    # The consumer backlog: the pool's PaymentSubmitted events, topped up with
    # submitted + approved pairs to at least this many events per consumer.
    backlog_events: int = 10_000
    backlog_min_pairs: int = 1_000
    drain_windows: int = 5  # the consumer drain's spread is over its windows
    relay_backlog: int = 20_000
    relay_batch: int = 500  # the relay's default RELAY_BATCH_SIZE
    pg_seconds: float = 2.0
    amqp_batched: int = 10_000
    amqp_single: int = 2_000
    celery_tasks: int = 1_000
    celery_round_trips: int = 200
    # Per no-op worker, side by side: enough that none drains its queue while
    # the last of them is still starting (Celery takes a second or two).
    celery_side_tasks: int = 5_000
    # The paced floors: no-op tasks sent one at a time at `moderate_rate`, and
    # requests to the web's no-op approve at the highest client count.
    celery_paced_tasks: int = 500
    web_noop_requests: int = 2_000
    profile_approvals: int = 400
    profile: bool = True

    def pool_size(self) -> int:
        """Payments to submit beforehand: every run's approvals, and a profile's."""
        per_repeat = sum(self.throughput.values()) + int(
            self.latency_seconds * (self.moderate_rate + self.saturation_guess)
        )
        return self.repeats * per_repeat + (
            self.profile_approvals if self.profile else 0
        )

    def backlog_pairs(self) -> int:
        return max(
            self.backlog_min_pairs, (self.backlog_events - self.pool_size()) // 2
        )


FULL = Plan(repeats=3, throughput={1: 100, 8: 250, 32: 400})

QUICK = Plan(
    repeats=1,
    throughput={1: 30, 8: 60, 32: 90},
    latency_seconds=5.0,
    saturation_guess=20.0,
    backlog_events=700,
    backlog_min_pairs=100,
    drain_windows=3,
    relay_backlog=5_000,
    pg_seconds=1.5,
    amqp_batched=5_000,
    amqp_single=500,
    celery_tasks=500,
    celery_round_trips=100,
    celery_side_tasks=3_000,
    celery_paced_tasks=150,
    web_noop_requests=600,
    profile_approvals=150,
    profile=False,
)
