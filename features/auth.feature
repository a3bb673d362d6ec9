Feature: Login
  "Tilkobling kræver både et OCES certifikat og brugernavn/kode." The username is the CVR
  number and the RID or UID of the certificate, e.g. CVR_19552101_RID_60134540, and the
  certificate must be registered in advance.

  @GW-AUTH-01 @must
  Scenario: The certificate and its password log in
    When "moces" tries to log in with its password
    Then the login succeeds

  @GW-AUTH-01 @must
  Scenario: The right certificate with a wrong password is refused
    When "moces" tries to log in with a wrong password
    Then the login is refused

  @GW-AUTH-02 @must
  Scenario: The username is CVR and RID or UID of the certificate
    Then the username of "moces" is made from its certificate
    And the username of "voces" is made from its certificate
    When "moces" tries to log in with its password
    Then the login succeeds

  @GW-AUTH-02 @must
  Scenario: A username that does not belong to the certificate is refused
    Given "moces" can log in with its password
    When "moces" tries to log in as "voces" with that certificate's password
    Then the login is refused

  @GW-AUTH-03 @must @needs-control
  Scenario: An unregistered certificate cannot log in
    Given "moces" can log in with its password
    And the registration of "moces" is removed
    When "moces" tries to log in with its password
    Then the login is refused

  @GW-AUTH-04 @should @assumed
  Scenario: An OCES3 certificate logs in as CVR_<cvr>_UI_<uuid>
    Then the username of "oces3-org" is made from its certificate
    When "oces3-org" tries to log in with its password
    Then the login succeeds
