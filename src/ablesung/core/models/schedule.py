from django.db import models
from django.utils import timezone


class ScheduledRun(models.Model):
    """Marks that a periodic job was enqueued for one period (e.g. a day).

    The unique constraint makes the schedule safe with several workers: only the
    worker whose insert succeeds enqueues the job.
    """

    job = models.CharField(max_length=60)
    period = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="scheduled_run_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job}@{self.period}"
