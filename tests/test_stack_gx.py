"""great-expectations 1.x validating a Spark DataFrame."""

import great_expectations as gx


def test_suite_reports_passing_and_failing_expectations(spark) -> None:
    frame = spark.createDataFrame(
        [("00000000000001", 12), ("00000000000002", None), ("00000000000003", -4)],
        "siret string, headcount int",
    )
    context = gx.get_context(mode="ephemeral")
    batch_definition = (
        context.data_sources.add_spark(name="spark")
        .add_dataframe_asset(name="headcount")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add(gx.ExpectationSuite(name="headcount"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="siret"))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(column="headcount", min_value=0)
    )

    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)

    outcome = {r.expectation_config.type: r for r in result.results}
    assert not result.success
    assert outcome["expect_column_values_to_not_be_null"].success
    between = outcome["expect_column_values_to_be_between"]
    assert not between.success
    assert between.result["unexpected_count"] == 1  # the null headcount is not counted
    assert between.result["partial_unexpected_list"] == [-4]
