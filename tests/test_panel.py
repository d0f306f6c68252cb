"""Many series in one file: reading long and wide panels, their errors, splits in time, windows
that never cross a series, and statistics from each series' own training rows."""

import json

import numpy as np
import pandas as pd
import pytest

from forecaster.data import WIDE_ID, read_panel, time_splits
from forecaster.errors import UserError
from forecaster.fitting import Problem, reader, ridge_blocks
from forecaster.scaling import Representation
from forecaster.windows import window_batches
from tests.conftest import write_csv


def long_csv(tmp_path, series: dict, name="panel.csv", start="2021-01-01", freq="D", id_col="store"):
    """series: id -> (first step, values); one row per (id, time), ids in the given order."""
    frames = [pd.DataFrame({id_col: key, "date": pd.date_range(start, periods=first + len(values),
                                                              freq=freq)[first:].strftime("%Y-%m-%d"),
                            "sales": values}) for key, (first, values) in series.items()]
    path = tmp_path / name
    pd.concat(frames).to_csv(path, index=False)
    return path


# Reading


def test_long_file_reads_each_series_on_its_own_grid_in_order_of_appearance(tmp_path):
    path = long_csv(tmp_path, {"b": (0, [1.0, 2, 3, 4]), "a": (2, [10.0, 20, 30])})
    panel = read_panel(path, id_columns="store")
    assert panel.ids == ["b", "a"]
    assert panel.lengths.tolist() == [4, 3]
    assert panel.rows(0)[:, 0].tolist() == [1, 2, 3, 4]
    assert panel.rows(1)[:, 0].tolist() == [10, 20, 30]
    assert panel.index(1)[0] == pd.Timestamp("2021-01-03")  # a ragged start
    assert panel.schema.id_columns == ("store",) and panel.schema.frequency == "D"


def test_rows_in_any_order_are_sorted_by_series_then_time(tmp_path):
    text = "store,date,sales\na,2021-01-02,2\nb,2021-01-01,5\na,2021-01-01,1\nb,2021-01-02,6\n" \
           "a,2021-01-03,3\nb,2021-01-03,7\n"
    panel = read_panel(write_csv(tmp_path, text), id_columns="store")
    assert panel.ids == ["a", "b"]
    assert panel.raw[:, 0].tolist() == [1, 2, 3, 5, 6, 7]


def test_numeric_codes_and_several_id_columns_form_one_key(tmp_path):
    text = "store,item,date,sales\n" + "".join(
        f"{store},{item},2021-01-0{day},{store * 10 + item + day}\n"
        for store in (1, 2) for item in (7, 8) for day in (1, 2, 3))
    panel = read_panel(write_csv(tmp_path, text), id_columns="store,item")
    assert panel.ids == [("1", "7"), ("1", "8"), ("2", "7"), ("2", "8")]
    assert panel.label(2) == "2, 7"
    assert panel.find(["2", "8", "1", "7"]).tolist() == [3, 0]


def test_leading_and_trailing_empty_values_are_not_data_and_gaps_inside_stay_missing(tmp_path):
    text = ("store,date,sales\na,2021-01-01,\na,2021-01-02,\na,2021-01-03,3\na,2021-01-04,\n"
            "a,2021-01-06,6\na,2021-01-07,\nb,2021-01-01,1\nb,2021-01-02,2\nb,2021-01-03,3\n")
    panel = read_panel(write_csv(tmp_path, text), id_columns="store")
    assert panel.index(0)[0] == pd.Timestamp("2021-01-03") and panel.lengths[0] == 4
    np.testing.assert_array_equal(panel.rows(0)[:, 0], [3, np.nan, np.nan, 6])
    assert panel.missing_timestamps.tolist() == [1, 0]  # 2021-01-05 was not in the file


def test_a_series_with_no_value_is_left_out_and_named(tmp_path):
    text = "store,date,sales\na,2021-01-01,1\na,2021-01-02,2\na,2021-01-03,3\nz,2021-01-01,\n" \
           "z,2021-01-02,\n"
    panel = read_panel(write_csv(tmp_path, text), id_columns="store")
    assert panel.ids == ["a"]
    assert panel.left_out == [("z", "no target value")]


def test_wide_file_makes_each_named_column_a_series_named_by_the_column(tmp_path):
    text = "date,north,south,price\n" + "".join(
        f"2021-01-0{day},{day},{10 * day},{day % 2}\n" for day in range(1, 6))
    path = write_csv(tmp_path, text)
    panel = read_panel(path, target="north,south", features="price")
    assert panel.ids == ["north", "south"]
    assert panel.schema.wide == ("north", "south") and panel.schema.id_names == (WIDE_ID,)
    assert panel.rows(1).tolist() == [[10, 1], [20, 0], [30, 1], [40, 0], [50, 1]]
    every = read_panel(path, target="all", features="price")
    assert every.ids == ["north", "south"]



# Rows that hold no value: off the grid, at a repeated time or with no id, they are not data

STRAY = ("store,date,sales,price,region\n"
         + "".join(f"{store},2021-{month:02d}-01,{month * k},{month},{region}\n"
                   for store, k, region in (("a", 1, "north"), ("b", 2, "south"))
                   for month in range(1, 7))
         + "a,2021-03-15,,,\n"  # line 14: off the grid of month starts
         + "b,2021-04-01,,,south\n"  # line 15: b has a row with values for April
         + ",2021-05-20,,,\n"  # line 16: no id, no value
         + "z,2021-02-10,,,\nz,2021-03-01,,,\n")  # lines 17, 18: a series with no value


def test_a_long_file_drops_empty_rows_off_the_grid_at_a_repeated_time_or_with_no_id(tmp_path):
    panel = read_panel(write_csv(tmp_path, STRAY), id_columns="store", target="sales",
                       features="price", static="region")
    assert panel.schema.frequency == "MS" and panel.empty_rows == 4
    assert panel.ids == ["a", "b"] and panel.lengths.tolist() == [6, 6]
    assert panel.left_out == [("z", "no target value")]
    assert panel.rows(1)[:, 0].tolist() == [2, 4, 6, 8, 10, 12]
    assert panel.statics["region"].tolist() == ["north", "south"]


def test_a_wide_file_drops_a_row_only_when_every_target_and_feature_is_empty(tmp_path):
    text = ("date,north,south,price\n2021-01-01,1,10,5\n2021-02-01,2,,6\n2021-02-14,,,\n"
            "2021-03-01,3,30,7\n2021-04-01,4,40,8\n")
    panel = read_panel(write_csv(tmp_path, text), target="north,south", features="price")
    assert panel.schema.frequency == "MS" and panel.empty_rows == 1
    np.testing.assert_array_equal(panel.rows(1), [[10, 5], [np.nan, 6], [30, 7], [40, 8]])

# Errors: one line each, the first few offenders and a count


def test_repeated_timestamps_name_the_id_column_to_pass(tmp_path):
    path = long_csv(tmp_path, {f"s{k}": (0, list(range(1, 200))) for k in range(3)})
    with pytest.raises(UserError) as error:
        read_panel(path)
    message = str(error.value)
    assert "column 'store' tells them apart" in message and "--id-col store" in message
    assert "199 timestamps appear more than once" in message
    assert len(message) < 400 and "\n" not in message  # never hundreds of line numbers


def test_a_duplicate_series_and_time_names_the_id_the_time_and_the_lines(tmp_path):
    text = "store,date,sales\na,2021-01-01,1\na,2021-01-02,2\nb,2021-01-01,3\na,2021-01-02,4\n" \
           "b,2021-01-01,5\n"
    with pytest.raises(UserError, match=r"series 'a' has two rows for 2021-01-02 00:00:00: lines 3, 5 "
                                        r"\(1 more repeated pair\)"):
        read_panel(write_csv(tmp_path, text), id_columns="store")


def test_an_empty_id_cell_is_refused_with_its_line(tmp_path):
    text = "store,date,sales\na,2021-01-01,1\n,2021-01-02,2\na,2021-01-03,3\n"
    with pytest.raises(UserError, match=r"id column 'store' of .* is empty on 1 line \(3\)"):
        read_panel(write_csv(tmp_path, text), id_columns="store")


def test_long_and_wide_at_once_is_refused(tmp_path):
    text = "store,date,a,b\nx,2021-01-01,1,2\nx,2021-01-02,2,3\nx,2021-01-03,3,4\n"
    with pytest.raises(UserError, match="pass one of the two"):
        read_panel(write_csv(tmp_path, text), id_columns="store", target="a,b")


def test_an_unknown_series_is_named_with_the_known_ones(tmp_path):
    panel = read_panel(long_csv(tmp_path, {"a": (0, [1.0, 2, 3]), "b": (0, [1.0, 2, 4])}),
                       id_columns="store")
    with pytest.raises(UserError, match=r"--series names 1 series not in .*: c; its series are a, b"):
        panel.find(["a", "c"])


def test_naming_a_series_of_a_file_of_one_is_refused_with_the_fix(tmp_path):
    panel = read_panel(write_csv(tmp_path, "date,y\n2021-01-01,1\n2021-01-02,2\n2021-01-03,3\n"))
    with pytest.raises(UserError, match=r"--series names x, but .* holds one series .* leave --series out"):
        panel.find(["x"])


# Splits: one cutoff in time for every series


def test_splits_cut_every_series_at_the_same_times(tmp_path):
    path = long_csv(tmp_path, {"a": (0, np.arange(20.0)), "b": (10, np.arange(10.0))})
    panel = read_panel(path, id_columns="store")
    splits = time_splits(panel, 0.25, 0.25)
    assert splits.val_time == pd.Timestamp("2021-01-11") and splits.test_time == pd.Timestamp("2021-01-16")
    assert splits.val_start.tolist() == [10, 0] and splits.test_start.tolist() == [15, 5]
    given = time_splits(panel, 0.25, 0.25, val_start="2021-01-13", test_start="2021-01-18")
    assert given.val_start.tolist() == [12, 2] and given.test_start.tolist() == [17, 7]


# Windows never cross a series or a split; statistics come from each series' training rows alone


def two_series_problem(second=None):
    first = np.arange(0.0, 30.0)
    second = np.arange(100.0, 125.0) if second is None else second
    values = np.concatenate([first, second])[:, None]
    offsets = np.array([0, 30, 55])
    return Problem(values, offsets, val_start=np.array([20, 15]), test_start=np.array([25, 20]),
                   time_steps=3, horizon=2, season=1, source="test")


def test_the_ridge_blocks_cut_each_series_training_windows_in_quarters_with_their_tails():
    problem = two_series_problem()
    origins = problem.origins("train", first=3, steps=2)  # 3..18 (16) and 33..43 (11)
    labels = ridge_blocks(origins, problem, steps=2)
    blocks = {label: origins[labels == label].tolist() for label in np.unique(labels)}
    # series 0: blocks of 4; the last origin of each block but the last forecasts (origin,
    # origin + 1), which reaches into the next block's first target row: its tail
    # series 1: 11 origins in blocks of 3, 3, 3, 2
    assert blocks == {0: [3, 4, 5, 33, 34], 1: [6, 35], 2: [7, 8, 9, 36, 37], 3: [10, 38],
                      4: [11, 12, 13, 39, 40], 5: [14, 41], 6: [15, 16, 17, 18, 42, 43]}


def test_training_windows_stay_inside_one_series_and_its_training_rows():
    problem = two_series_problem()
    origins = problem.origins("train", first=3, steps=2)
    assert origins.tolist() == [*range(3, 19), *range(33, 44)]
    representation = Representation("global", 1).fit(problem.values, problem.val_start, 3, 2,
                                                      problem.offsets)
    read, encode = reader(problem, representation, 2)
    series = problem.series_of(origins)
    windows = read(origins)
    # Undo each series' standardisation: every window is three consecutive values of one series.
    levels = windows[..., 0] * representation.scale_[series, 0][:, None] + representation.mean_[
        series, 0][:, None]
    expected = problem.values[origins[:, None] + np.arange(-3, 0), 0]
    np.testing.assert_allclose(levels, expected, atol=1e-4)
    assert np.all(np.diff(expected, axis=1) == 1)  # no window mixes 29 with 100
    targets = encode(origins) * representation.spread_[series][:, None] + representation.level_[
        series][:, None]
    np.testing.assert_allclose(targets, problem.values[origins[:, None] + np.arange(2), 0], atol=1e-4)
    assert problem.origins("validation", 3, 2).tolist() == [*range(20, 24), *range(45, 49)]


@pytest.mark.parametrize("kind", Representation.KINDS)
def test_each_series_statistics_come_from_its_own_training_rows_only(kind):
    problem = two_series_problem()
    season = 2 if kind == "seasonal" else 1  # "seasonal" averages the last 3 cycles of 2 steps
    fitted = Representation(kind, season).fit(problem.values, problem.val_start, 3, 2, problem.offsets)
    if kind != "seasonal":  # its cycles are shared: as many as the shortest series allows
        alone = Representation(kind, season).fit(problem.values[:30], 20, 3, 2)
        for name in ("mean_", "scale_", "level_", "spread_"):
            np.testing.assert_allclose(getattr(fitted, name)[0], getattr(alone, name)[0], rtol=1e-12)
    # Another series' values, and this series' own validation and test rows, change nothing.
    changed = problem.values.copy()
    changed[20:30, 0] = 1e6
    changed[30:, 0] = -7.0 * np.arange(25) ** 2
    other = Representation(kind, season).fit(changed, problem.val_start, 3, 2, problem.offsets)
    for name in ("mean_", "scale_", "level_", "spread_"):
        np.testing.assert_array_equal(getattr(other, name)[0], getattr(fitted, name)[0])
    # series 2's training rows are 100..114: their changes, for "change", all 1; for "seasonal"
    # each lies 4 above the mean of the values 2, 4 and 6 rows before it
    assert fitted.mean_[1, 0] == pytest.approx({"change": 1.0, "seasonal": 4.0}.get(kind, 107.0))


def test_epochs_draw_at_most_the_cap_of_each_series_and_every_series_alike():
    origins = np.concatenate([np.arange(0, 100), np.arange(1000, 1010)])
    batches = window_batches(lambda at: at[:, None, None], lambda at: at[:, None], origins, 5, seed=3,
                             counts=[100, 10], per_group=10)
    assert batches.steps_per_epoch == 4  # 10 + 10 windows, 5 per batch
    for epoch in range(2):
        drawn = np.concatenate([batches[epoch * 4 + i][1][:, 0] for i in range(4)])
        assert len(drawn) == len(set(drawn)) == 20
        assert (drawn >= 1000).sum() == 10  # the short series gives all it has
    first = np.concatenate([batches[i][1][:, 0] for i in range(4)])
    second = np.concatenate([batches[4 + i][1][:, 0] for i in range(4)])
    assert set(first[first < 1000]) != set(second[second < 1000])  # a new share of the long one


def test_series_size_is_one_more_input_standardised_over_the_training_series():
    problem = two_series_problem()
    plain = Representation("window", 1).fit(problem.values, problem.val_start, 3, 2, problem.offsets)
    sized = Representation("window", 1, series_size=True).fit(problem.values, problem.val_start, 3, 2,
                                                              problem.offsets)
    assert sized.input_columns(1) == 2 and plain.input_columns(1) == 1
    sizes = np.log([np.mean(np.arange(20.0)), np.mean(np.arange(100.0, 115.0))])
    np.testing.assert_allclose(sized.size_, sizes)
    histories = np.stack([problem.values[7:10], problem.values[40:43]])
    windows = sized.windows(histories, np.array([0, 1]))
    np.testing.assert_array_equal(windows[..., :1], plain.windows(histories, np.array([0, 1])))
    assert windows[0, :, 1].tolist() == [-1.0] * 3 and windows[1, :, 1].tolist() == [1.0] * 3
    # A series never seen in training gets its size from its own rows, on the training scale.
    fresh = sized.with_series([np.arange(1000.0, 1010.0)[:, None]])
    size = (np.log(1004.5) - sizes.mean()) / (np.std(sizes))
    assert fresh.windows(histories[:1] * 0 + 1004.0, np.array([2]))[0, 0, 1] == pytest.approx(size, rel=1e-6)
    loaded = Representation.from_dict(json.loads(json.dumps(sized.to_dict())))
    np.testing.assert_array_equal(loaded.windows(histories, np.array([0, 1])), windows)


# Static inputs: constants of each series


STATIC = ("store,region,area,date,sales\n"
          "a,north,120,2021-01-01,1\na,north,120,2021-01-02,2\na,north,120,2021-01-03,3\n"
          "b,south,80,2021-01-01,5\nb,south,80,2021-01-02,6\nb,south,80,2021-01-03,7\n")


def test_static_columns_are_read_once_per_series(tmp_path):
    panel = read_panel(write_csv(tmp_path, STATIC), id_columns="store", static="region,area")
    assert panel.schema.static == ("region", "area")
    assert panel.statics["region"].tolist() == ["north", "south"]
    assert panel.statics["area"].tolist() == [120.0, 80.0]
    assert panel.select([1]).statics["area"].tolist() == [80.0]


@pytest.mark.parametrize(("text", "flags", "message"), [
    (STATIC.replace("b,south,80,2021-01-03", "b,east,80,2021-01-03"), {"id_columns": "store"},
     r"static column 'region' of .* changes within series 'b': it holds 'south', and 'east' on line 7 "
     r"\(1 series change, in all\)"),
    (STATIC.replace("a,north,120,2021-01-02", "a,,120,2021-01-02"), {"id_columns": "store"},
     r"static column 'region' of .* is empty on 1 line \(3\)"),
    (STATIC, {}, r"--static region names columns constant within each series of a long file, but "
                 r"no --id-col"),
])
def test_a_static_column_that_is_not_one_value_per_series_is_refused(tmp_path, text, flags, message):
    with pytest.raises(UserError, match=message):
        read_panel(write_csv(tmp_path, text), target="sales", static="region", **flags)


def test_static_inputs_standardise_numbers_and_one_hot_text_seen_in_training():
    from forecaster.scaling import StaticInputs

    inputs = StaticInputs().fit({"region": np.array(["north", "south", "north"], dtype=object),
                                 "area": np.array([100.0, 300.0, 200.0])})
    assert inputs.width == 3  # north, south, area
    encoded = inputs.transform({"region": np.array(["south", "west"], dtype=object),
                                "area": np.array([200.0, 200.0 + np.sqrt(20000 / 3)])})
    np.testing.assert_allclose(encoded, [[0, 1, 0], [0, 0, 1]], atol=1e-6)  # west: never seen
    loaded = StaticInputs.from_dict(json.loads(json.dumps(inputs.to_dict())))
    np.testing.assert_array_equal(loaded.transform({"region": np.array(["north"], dtype=object),
                                                    "area": np.array([100.0])}),
                                  inputs.transform({"region": np.array(["north"], dtype=object),
                                                    "area": np.array([100.0])}))


def test_two_columns_that_tell_the_series_apart_together_are_named(tmp_path):
    text = "date,store,item,sales\n" + "".join(
        f"2021-01-0{day},{store},{item},{day + store}\n"
        for store in (1, 2) for item in ("apples", "pears") for day in range(1, 5))
    with pytest.raises(UserError, match=r"columns 'store' and 'item' together tell them apart\. Pass "
                                        r"--id-col store,item to train"):
        read_panel(write_csv(tmp_path, text), target="sales")
