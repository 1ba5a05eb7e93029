"""Bounds on one command moving one instance: a budget of engine steps and seconds (a
multi-instance of 20,000, a call activity calling itself), and a minimum interval for cycle
timers whose interval comes from a variable. Exceeding either stops the run; the runner
turns it into an incident and commits, so the write lock is released."""
from __future__ import annotations

import time

from . import spiff
from .projection import element_id
from engine.i18n import _


class BudgetExceeded(Exception):
    """A step ran more engine steps, or longer, than EngineSettings allow (a multi-instance
    of 20,000, a call activity calling itself): it stops, and the instance is an incident."""


class Budget:
    """Engine steps and seconds one command may spend moving one instance; after each step
    it also stops a cycle timer shorter than the minimum (PT0S fires within the same run)."""

    def __init__(self, settings, wf=None):
        self.max_steps = settings.max_steps
        self.max_seconds = settings.max_step_seconds
        self.min_cycle = settings.min_timer_seconds
        self.deadline = time.monotonic() + self.max_seconds
        self.steps = 0
        self.wf = wf

    def spend(self, _task=None) -> None:
        if self.wf is not None:
            short_cycle(self.wf, self.min_cycle)
        self.steps += 1
        if self.steps > self.max_steps:
            raise BudgetExceeded(_("流程步数超出上限 ({max_steps} 步), 已停止运行: 请检查多实例数量或调用活动是否调用自身").format(
                                     max_steps=self.max_steps))
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(_("流程运行时间超出上限 ({max_seconds:g} 秒, {steps} 步), 已停止运行").format(
                                     max_seconds=self.max_seconds, steps=self.steps))


class CycleTooShort(Exception):
    """A cycle timer whose interval, computed at run time, is below the configured minimum."""

    def __init__(self, message: str, task):
        super().__init__(message)
        self.task = task


def short_cycle(wf, minimum: float) -> None:
    """Raise CycleTooShort for a waiting cycle timer whose interval is below `minimum`."""
    for task in spiff.waiting_event_tasks(wf):
        seconds = spiff.cycle_seconds(task)
        if seconds is not None and seconds < minimum:
            raise CycleTooShort(
                _("循环定时器 {element_id_task} 的间隔为 {seconds:g} 秒, 短于下限 {minimum:g} 秒").format(
                    element_id_task=element_id(task), seconds=seconds, minimum=minimum), task)
