"""Delivering the outbox: each hand-off message to its receiver, at least once, and
never again once the receiver acknowledged it.

- webhook: POST of the JSON body with `X-Hotline-Signature: sha256=<hex>` (HMAC-SHA256
  of the body under the webhook secret) and `X-Hotline-Delivery: <message id>` (the
  same on every retry, so a receiver can drop a repeat); a 2xx is the acknowledgement.
- e-mail: SMTP to the department's address, `Message-ID: <outbox-<id>@hotline>`; the
  server's 250 after DATA is the acknowledgement.

A message is marked delivered right after its acknowledgement, in its own transaction;
a failure is retried after `retry_seconds` doubling (at most `retry_max_seconds`), and
after `max_attempts` the message is dead: listed in the API and counted in /metrics.
Messages live in the database, so a restart loses none. Delivery runs in its own task
and never touches a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import smtplib
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import structlog

from ivr.clock import Clock, SystemClock
from ivr.config import HotlineConfig, OutboxSection
from ivr.orders.service import EMAIL, WEBHOOK, OrdersService
from ivr.orders.store import StoredMessage

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Hotline-Signature"
DELIVERY_HEADER = "X-Hotline-Delivery"
EVENT_HEADER = "X-Hotline-Event"
SECRET_FILE = "outbox-webhook.secret"
IDLE_SECONDS = 30.0  # looked at this often even when nothing woke delivery


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def webhook_secret(outbox: OutboxSection, data_dir: Path) -> bytes:
    """The configured secret file's content, else one generated in data_dir (0600)."""
    path = outbox.webhook_secret_file or data_dir / SECRET_FILE
    if outbox.webhook_secret_file is None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    mode = path.stat().st_mode
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others (mode {mode & 0o777:o}); chmod 600")
    return path.read_text(encoding="utf-8").strip().encode()


class DeliveryFailed(RuntimeError):
    pass


class Deliverer:
    def __init__(
        self,
        orders: OrdersService,
        config: Callable[[], HotlineConfig],
        clock: Clock | None = None,
    ) -> None:
        self.orders = orders
        self.store = orders.store
        self.config = config
        self.clock = clock or SystemClock()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._counts: dict[str, int] = {"pending": 0, "delivered": 0, "dead": 0}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="outbox-delivery")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run(self) -> None:
        """Deliver what is due, then sleep until woken or the next retry is due."""
        while True:
            try:
                await self.deliver_due()
                wait = await self._seconds_to_next()
            except Exception as exc:  # the database may be briefly away
                log.warning("outbox.pass_failed", error=str(exc))
                wait = 5.0
            self.orders.written.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.orders.written.wait(), wait)

    async def _seconds_to_next(self) -> float:
        upcoming = await self.store.next_due()
        if upcoming is None:
            return IDLE_SECONDS
        return max(0.05, min(IDLE_SECONDS, (upcoming - self.clock.now()).total_seconds()))

    async def deliver_due(self) -> int:
        """One pass over the due messages; returns how many were delivered."""
        delivered = 0
        for message in await self.store.due(self.clock.now()):
            try:
                await self._send(message)
            except Exception as exc:  # any failure: retry later or give up
                await self._failed(message, str(exc) or type(exc).__name__)
                continue
            await self.store.mark(message.id, delivered_at=self.clock.now(),
                                  attempts=message.attempts + 1, last_error="")
            delivered += 1
            log.info("outbox.delivered", message=message.id, order=message.order_id,
                     receiver=message.receiver)
        await self.refresh_counts()
        return delivered

    async def _failed(self, message: StoredMessage, error: str) -> None:
        outbox = self.config().outbox
        attempts = message.attempts + 1
        now = self.clock.now()
        if attempts >= outbox.max_attempts:
            await self.store.mark(message.id, attempts=attempts, dead_at=now,
                                  last_error=error[:500])
            log.error("outbox.dead", message=message.id, order=message.order_id,
                      receiver=message.receiver, error=error[:200])
            return
        delay = min(outbox.retry_seconds * 2 ** (attempts - 1), outbox.retry_max_seconds)
        await self.store.mark(message.id, attempts=attempts, last_error=error[:500],
                              next_at=now + timedelta(seconds=delay))
        log.warning("outbox.retry", message=message.id, receiver=message.receiver,
                    attempts=attempts, in_seconds=delay, error=error[:200])

    async def retry(self, message_id: int) -> bool:
        """A dead message back in the queue (an administrator fixed the receiver);
        False when there is no such dead message."""
        revived = await self.store.revive(message_id, self.clock.now())
        if revived:
            self.orders.written.set()
        return revived

    async def refresh_counts(self) -> None:
        self._counts = await self.store.outbox_counts()

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    # -- the receivers ----------------------------------------------------------------

    async def _send(self, message: StoredMessage) -> None:
        if message.receiver == WEBHOOK:
            await self._post(message)
        elif message.receiver == EMAIL:
            await asyncio.to_thread(self._mail, message)
        else:
            raise DeliveryFailed(f"unknown receiver {message.receiver!r}")

    async def _post(self, message: StoredMessage) -> None:
        config = self.config()
        body = message.payload.encode()
        secret = webhook_secret(config.outbox, config.service.data_dir)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=config.outbox.timeout_seconds)
            )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(secret, body),
            DELIVERY_HEADER: str(message.id),
            EVENT_HEADER: message.event,
        }
        async with self._session.post(message.target, data=body, headers=headers) as response:
            if not 200 <= response.status < 300:
                text = (await response.text())[:200]
                raise DeliveryFailed(f"the webhook answered {response.status}: {text}")

    def _mail(self, message: StoredMessage) -> None:
        outbox = self.config().outbox
        if not outbox.smtp_host:
            raise DeliveryFailed("no smtp_host in [outbox]")
        order = json.loads(message.payload)["order"]
        mail = EmailMessage()
        mail["From"] = outbox.mail_from
        mail["To"] = message.target
        mail["Subject"] = (
            f"[{self.config().hotline.name}] 工单 {order['id']} {order['service']} "
            f"{message.event}"
        )
        mail["Message-ID"] = f"<outbox-{message.id}@hotline>"
        lines = [f"{key}: {value}" for key, value in order.items() if value not in (None, "")]
        mail.set_content("\n".join(lines) + "\n")
        mail.add_attachment(message.payload.encode(), maintype="application",
                            subtype="json", filename=f"order-{order['id']}.json")
        with smtplib.SMTP(outbox.smtp_host, outbox.smtp_port,
                          timeout=outbox.timeout_seconds) as smtp:
            smtp.send_message(mail)
