Feature: Visit schedule and windows (TV)
  Day 1 is the randomization date; windows come from the protocol.

  Background:
    Given the date is "2024-03-01"
    And a subject "702-1005" at site "702"
    And the form "SV" at visit "SCREENING1" is saved with:
      | SVSTDTC    |
      | 2024-01-02 |
    And the form "SV" at visit "BASELINE" is saved with:
      | SVSTDTC    |
      | 2024-01-08 |
    And the form "RAND" at visit "BASELINE" is saved with:
      | RANDDT     |
      | 2024-01-08 |

  Scenario: A visit inside its window
    When the form "SV" at visit "WEEK4" is saved with:
      | SVSTDTC    |
      | 2024-02-04 |
    Then visit "WEEK4" is in window

  Scenario: A visit after its window is late
    When the form "SV" at visit "WEEK2" is saved with:
      | SVSTDTC    |
      | 2024-01-25 |
    Then visit "WEEK2" is late

  Scenario: A visit before its window is early
    When the form "SV" at visit "WEEK4" is saved with:
      | SVSTDTC    |
      | 2024-01-30 |
    Then visit "WEEK4" is early

  Scenario: Visits without a date are due, overdue or not yet due
    Then visit "ECGPLACE" is overdue
    And visit "WEEK8" is due
    And visit "WEEK12" is not due
    And visit "AEFU" is unscheduled

  Scenario: A missed visit is recorded with its reason and takes no data
    When visit "WEEK6" is marked missed because "subject in hospital"
    Then visit "WEEK6" is missed
    When the form "SV" at visit "WEEK6" is saved with:
      | SVSTDTC    |
      | 2024-02-19 |
    Then the save is rejected with "is marked missed"

  Scenario: A visit date in the future is refused
    When the form "SV" at visit "WEEK8" is saved with:
      | SVSTDTC    |
      | 2024-03-04 |
    Then the save is rejected with "cannot be in the future"
