Feature: Laboratory results and disposition

  Background:
    Given a subject "705-1007" at site "705"
    And the form "SV" at visit "SCREENING1" is saved with:
      | SVSTDTC    |
      | 2024-01-02 |
    And the form "IC" at visit "SCREENING1" is saved with:
      | ICDTC      | ICVER | ICCGVR |
      | 2024-01-02 | v2    | Y      |

  Scenario: Normal results raise nothing
    When the form "LB" at visit "SCREENING1" is saved with:
      | LBDTC                | LBFAST |
      | 2024-01-02T09:30:00Z | Y      |
    And a new row of "LB" on form "LB" at visit "SCREENING1" is saved with:
      | LBTESTCD | LBORRES | LBORNRHI |
      | ALT      | 22      | 40       |
    Then no query is open

  Scenario: ALT above three times the upper limit is queried
    Given the form "LB" at visit "SCREENING1" is saved with:
      | LBDTC                |
      | 2024-01-02T09:30:00Z |
    When a new row of "LB" on form "LB" at visit "SCREENING1" is saved with:
      | LBTESTCD | LBORRES | LBORNRHI |
      | ALT      | 130     | 40       |
    Then a query is open on "LB.LBORRES" with message "ALT above 3 times the upper limit"

  Scenario: ALT and bilirubin together flag a potential Hy's law case
    Given the form "LB" at visit "SCREENING1" is saved with:
      | LBDTC                |
      | 2024-01-02T09:30:00Z |
    And a new row of "LB" on form "LB" at visit "SCREENING1" is saved with:
      | LBTESTCD | LBORRES | LBORNRHI |
      | ALT      | 130     | 40       |
    When a new row of "LB" on form "LB" at visit "SCREENING1" is saved with:
      | LBTESTCD | LBORRES | LBORNRHI |
      | BILI     | 50      | 21       |
    Then a query from check "LB11" is open
    And a query is open on "LB.LBDTC" with message "Hy's law"

  Scenario: A negative result is refused
    Given the form "LB" at visit "SCREENING1" is saved with:
      | LBDTC                |
      | 2024-01-02T09:30:00Z |
    When a new row of "LB" on form "LB" at visit "SCREENING1" is saved with:
      | LBTESTCD | LBORRES |
      | GLUC     | -5.2    |
    Then the save is rejected with "cannot be negative"

  Scenario: A sample before consent is refused
    When the form "LB" at visit "SCREENING1" is saved with:
      | LBDTC                |
      | 2023-12-30T09:30:00Z |
    Then the save is rejected with "before informed consent"

  Scenario: Discontinuation needs a reason
    Given the form "SV" at visit "BASELINE" is saved with:
      | SVSTDTC    |
      | 2024-01-09 |
    And the form "RAND" at visit "BASELINE" is saved with:
      | RANDDT     |
      | 2024-01-09 |
    And the form "SV" at visit "WEEK26" is saved with:
      | SVSTDTC    |
      | 2024-03-01 |
    When the form "DS" at visit "WEEK26" is saved with:
      | DSDECOD               | DSSTDTC    |
      | WITHDRAWAL BY SUBJECT | 2024-03-01 |
    Then a query is open on "DS.DSTERM" with message "reason for discontinuation"
    When the form "DS" at visit "WEEK26" is saved with:
      | DSTERM   |
      | moved away |
    Then no query from check "DS02" is open

  Scenario: Completion before week 24 is queried
    Given the form "SV" at visit "BASELINE" is saved with:
      | SVSTDTC    |
      | 2024-01-09 |
    And the form "RAND" at visit "BASELINE" is saved with:
      | RANDDT     |
      | 2024-01-09 |
    And the form "SV" at visit "WEEK26" is saved with:
      | SVSTDTC    |
      | 2024-03-01 |
    When the form "DS" at visit "WEEK26" is saved with:
      | DSDECOD   | DSSTDTC    |
      | COMPLETED | 2024-03-01 |
    Then a query is open on "DS.DSSTDTC" with message "before week 24"
