"""Where the day's time goes: each step of :func:`trucesim.core.day.day`, timed apart.

    .venv/bin/python benchmarks/profile_day.py                  # 100,000 cliques, 200 days
    .venv/bin/python benchmarks/profile_day.py --cliques 600 --days 2000
    .venv/bin/python benchmarks/profile_day.py --default        # the default 7-year run

The day runs as one compiled kernel, so its steps cannot be timed from inside it. This
script replays the same day from Python, step by step, calling the same compiled
mechanism kernels in the same order on the same state (CPU time; a fixed cost of a few
microseconds a call is added per step), and sums each step's time over the days. The
whole compiled day is timed on a twin model for comparison. ``--default`` splits the
default El Salvador run (``benchmarks/run.py``'s ``default`` workload) into scenario
loading, model construction (world, state, burn-in) and the days.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import bench_scenario  # noqa: E402


def replay(model, days: int) -> dict[str, float]:
    """Run ``days`` days of ``model`` step by step from Python; seconds per step."""
    from trucesim.core import day as D
    from trucesim.mechanisms import (
        bargaining,
        command,
        demography,
        other_actors,
        policing,
        retaliation,
        violence,
    )

    t: dict[str, float] = defaultdict(float)
    state, params, schedule = model.state, model.params, model.timeline.schedule
    rng, on = model.rng, params.mechanisms
    cliques, fronts, gangs, clock, scratch = (
        state.cliques, state.fronts, state.gangs, state.clock, state.scratch)
    burn_in = params.world.burn_in_days
    clock_ = time.process_time
    for d in range(model.day, model.day + days):
        row = model.daily[d + burn_in]
        c = clock_()
        phase = schedule.phase_of_day[d] if d >= 0 else 0
        regime = schedule.regimes[phase]
        if phase != clock.phase[0]:
            clock.phase[0] = phase
            gangs.isolation[:] = regime.isolation
        if d >= 0:
            D.apply_events(state, schedule.events, d, on.command_tiers)
        c2 = clock_()
        t["1 reset, regime, events"] += c2 - c
        if on.leaders:
            recent = 0.0
            if regime.conditional:
                recent = D.recent_recorded_per_day(model.daily, d + burn_in,
                                                   regime.verification_days)
            row.benefits_paid = command.benefits_paid(regime, recent)
            if on.bargaining_violence:
                bargaining.weigh(gangs, regime, row.benefits_paid, params.bargaining)
            command.decide(gangs, regime, row.benefits_paid, d, params.command,
                           on.strategic_stance, on.command_tiers)
            if on.command_tiers:
                command.street_decide(rng, gangs, d, params.command, on.command_state)
        c3 = clock_()
        t["2 leaders decide"] += c3 - c2
        restrained = False
        if on.leaders:
            if on.command_state:
                restrained = command.relay(rng, cliques, gangs, d, params.command,
                                           on.command_tiers, on.prison_command)
            else:
                restrained = command.transmit(rng, cliques, gangs, d, params.command,
                                              on.command_tiers)
        c4 = clock_()
        t["3 orders travel"] += c4 - c3
        violence.size_factors(cliques, params.world.members, params.violence.size_power,
                              params.violence.arms_power, on.truce_capacity)
        c5 = clock_()
        t["4a size factors"] += c5 - c4
        if on.police:
            policing.allocate(cliques, regime, restrained, params.policing)
            c6 = clock_()
            t["4b police allocate, deter"] += c6 - c5
            row.arrests, row.gang_killed_by_police, row.police_killed = policing.act(
                rng, cliques, regime, params.policing, scratch,
                not on.police_gang_retaliation, on.deterrence_all_streams)
            c7 = clock_()
            t["4c police act"] += c7 - c6
            if on.police_gang_retaliation:
                attacks, killed, police_killed = retaliation.exchange(
                    rng, cliques, regime, params.retaliation,
                    params.policing.attack_lethality, scratch, on.deterrence_all_streams)
                row.attacks_on_police = attacks
                row.gang_killed_by_police += killed
                row.police_killed += police_killed
            c5 = clock_()
            t["4d retaliation"] += c5 - c7
        else:
            cliques.heat[:] = 0.0
            policing.deter(cliques, 0.0)
            cliques.arrests[:] = 0
            cliques.killed_by_police[:] = 0
        c8 = clock_()
        row.gang_on_gang = violence.front_killings(
            rng, cliques, fronts, d, params.violence, scratch, on.leaderless_retaliation)
        c9 = clock_()
        t["5 fronts"] += c9 - c8
        if on.other_killings:
            civilian_rate, background_rate = violence.civilian_rates(
                params.violence, on.civilian_split, len(cliques.members), params.world.members)
            escalation = (params.bargaining.civilian_escalation if on.bargaining_violence
                          else 0.0)
            row.gang_on_civilian = violence.civilians(
                rng, cliques, civilian_rate, params.violence, scratch, escalation,
                on.extortion_killings, params.world.members, on.deterrence_all_streams)
            row.background = violence.background(rng, background_rate)
        if on.other_actors:
            row.other_actors = other_actors.killings(rng, state.nation, params.other_actors)
        c10 = clock_()
        t["6 civilians, background"] += c10 - c9
        hidden_front = 0
        if restrained:
            row.disappearances, hidden_front = violence.conceal(
                rng, cliques, params.violence, on.extortion_killings)
        if on.extortion_killings:
            row.gang_member_victims = (row.gang_on_gang - hidden_front
                                       + row.gang_killed_by_police)
        c11 = clock_()
        t["7a conceal"] += c11 - c10
        policing.remember(cliques, params.policing)
        c12 = clock_()
        t["7b hotspot memory"] += c12 - c11
        if on.demography:
            held = demography.held_share(params.demography.custody_share,
                                         regime.custody_factor)
            demography.losses(rng, cliques, on.prison_terms, held)
            c13 = clock_()
            t["8a losses"] += c13 - c12
            release_rate = (1.0 / regime.sentence_days if on.prison_terms
                            else params.demography.release_rate)
            row.releases, row.recruits = demography.gains(
                rng, cliques, regime, params.demography, params.world.capacity, scratch,
                on.truce_capacity, release_rate)
            c12 = clock_()
            t["8b gains"] += c12 - c13
        if on.truce_capacity:
            demography.arm(cliques, params.demography, params.world.members)
        c14 = clock_()
        t["8c arm"] += c14 - c12
        D.record(row, model.gang_daily[d + burn_in], d, state, restrained, on.command_tiers)
        t["9 record"] += clock_() - c14
    model.day += days
    return t


def main() -> None:
    """Print each step's share of the day."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cliques", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=200)
    ap.add_argument("--default", action="store_true",
                    help="split the default El Salvador run into loading, construction "
                         "and days")
    args = ap.parse_args()
    from trucesim import load_scenario
    from trucesim.core.model import TruceModel

    TruceModel(bench_scenario(50, 10), rng=0, agents=False).run()  # load the kernels
    if args.default:
        default(load_scenario, TruceModel)
        return
    scenario = bench_scenario(args.cliques, args.days)
    twin = TruceModel(scenario, rng=1, agents=False)
    c = time.process_time()
    twin.run()
    whole = time.process_time() - c
    model = TruceModel(scenario, rng=1, agents=False)
    c = time.process_time()
    t = replay(model, args.days)
    total = time.process_time() - c
    # the replay is a copy of core/day.py's order of steps: it must still be the day
    if (model.daily.tobytes() != twin.daily.tobytes()
            or model.gang_daily.tobytes() != twin.gang_daily.tobytes()):  # NaN-safe
        sys.exit("the step-by-step replay no longer gives the compiled day's record: "
                 "bring replay() in line with trucesim/core/day.py")
    units = args.cliques * args.days
    print(f"{args.cliques} cliques, {args.days} days: compiled day {whole / units * 1e9:.1f} "
          f"ns per clique-day; replayed step by step {total / units * 1e9:.1f}")
    for name in sorted(t):
        print(f"  {name:30s} {t[name] / units * 1e9:7.1f} ns per clique-day "
              f"({t[name] / sum(t.values()):5.1%})")


def default(load_scenario, TruceModel) -> None:
    """Split the default run into loading, construction (with burn-in) and the days."""
    from trucesim.core import model as M

    scenario = load_scenario("el-salvador-2010-2016")
    reps = 7
    loads, builds, burns, runs, frames = [], [], [], [], []
    for r in range(reps):
        c = time.process_time()
        load_scenario("el-salvador-2010-2016")
        loads.append(time.process_time() - c)
        simulate = M.TruceModel._simulate
        burn = [0.0]

        def timed(self, until, simulate=simulate, burn=burn):
            c = time.process_time()
            simulate(self, until)
            burn[0] += time.process_time() - c

        M.TruceModel._simulate = timed
        c = time.process_time()
        model = TruceModel(scenario, rng=r, agents=False)
        builds.append(time.process_time() - c - burn[0])
        burns.append(burn[0])
        M.TruceModel._simulate = simulate
        c = time.process_time()
        model._simulate(model.timeline.days)
        runs.append(time.process_time() - c)
        c = time.process_time()
        model.to_frame()
        frames.append(time.process_time() - c)

    def med(x):
        return sorted(x)[len(x) // 2] * 1e3

    print(f"default run, medians of {reps} (ms of CPU): loading the scenario {med(loads):.1f} "
          f"(not in the benchmark), construction {med(builds):.1f}, burn-in "
          f"{med(burns):.1f}, days {med(runs):.1f}, to_frame {med(frames):.1f}")


if __name__ == "__main__":
    main()
