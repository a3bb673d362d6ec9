# A QA team's own feature: their ERP system does the filing (their step), ftpsgw's steps
# judge what the gateway made of it.
Feature: Our ERP files interest reports through the gateway

  Scenario: an interest report filed by the ERP gets its receipts
    Given "moces" is logged in
    When our ERP files the interest report as "moces" to "eKapital.Rente.Udlaan"
    Then the upload is accepted
    And "moces" receives receipts 1 and 2 for it
    And every receipt for it carries the published XML elements

  Scenario: the ERP never files the same report twice under one name
    When our ERP files the interest report as "moces" to "eKapital.Rente.Udlaan"
    And our ERP files the same report again as "moces" to "eKapital.Rente.Udlaan"
    Then that submission is rejected as FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION
