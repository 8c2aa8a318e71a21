from django.db import models


class RateLimitCounter(models.Model):
    """One fixed-window failure counter (see :mod:`ablesung.core.ratelimit`).

    Used when no ``REDIS_URL`` is set. Unlike Django's database cache this table never
    culls: a counter lives until its window has ended (``expires_at``), and the worker's
    schedule deletes expired rows. Keys hold digests, never a typed value.
    """

    key = models.CharField(max_length=120, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "Zähler der Ratenbegrenzung"
        verbose_name_plural = "Zähler der Ratenbegrenzung"

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
